// A WebSocket that reconnects with backoff until closed on purpose.

export class ReconnectingSocket {
  /**
   * @param {() => string} makeUrl  called before each connection (so `after=` can move on)
   * @param {{onMessage: (msg: object) => void, onState?: (state: string) => void}} handlers
   */
  constructor(makeUrl, { onMessage, onState = () => {}, minDelay = 500, maxDelay = 10_000 }) {
    this.makeUrl = makeUrl;
    this.onMessage = onMessage;
    this.onState = onState;
    this.minDelay = minDelay;
    this.maxDelay = maxDelay;
    this.delay = minDelay;
    this.ws = null;
    this.timer = null;
    this.closed = false;
    this.finished = false;
    this.everOpened = false;
  }

  start() {
    this.closed = false;
    this.connect();
    return this;
  }

  connect() {
    if (this.closed || this.finished) return;
    this.onState("connecting");
    let ws;
    try {
      ws = new WebSocket(this.makeUrl());
    } catch {
      this.schedule();
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      this.delay = this.minDelay;
      const reconnected = this.everOpened;
      this.everOpened = true;
      this.onState(reconnected ? "reopened" : "open");
    };
    ws.onmessage = (event) => {
      let msg;
      try {
        msg = JSON.parse(event.data);
      } catch {
        return;
      }
      this.onMessage(msg);
    };
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.ws = null;
      if (this.closed || this.finished) {
        this.onState(this.finished ? "finished" : "closed");
        return;
      }
      this.onState("down");
      this.schedule();
    };
    ws.onerror = () => {
      /* onclose follows and handles the retry */
    };
  }

  schedule() {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.connect(), this.delay);
    this.delay = Math.min(this.maxDelay, this.delay * 2);
  }

  /** The server said it is done (e.g. a log stream's "end"): do not reconnect. */
  finish() {
    this.finished = true;
  }

  /** Reconnect now, e.g. after a new token was entered. */
  restart() {
    this.finished = false;
    this.closed = false;
    clearTimeout(this.timer);
    const ws = this.ws;
    this.ws = null;
    if (ws) ws.close();
    this.delay = this.minDelay;
    this.connect();
  }

  close() {
    this.closed = true;
    clearTimeout(this.timer);
    if (this.ws) {
      const ws = this.ws;
      this.ws = null;
      ws.onclose = null;
      ws.close();
    }
  }
}

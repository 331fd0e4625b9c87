// A view's lifetime: listeners, timers, sockets and fetches that end when the view is left.

export class Scope {
  constructor() {
    this.controller = new AbortController();
    this.cleanups = [];
    this.disposed = false;
  }

  get signal() {
    return this.controller.signal;
  }

  on(target, type, fn) {
    target.addEventListener(type, fn);
    this.cleanups.push(() => target.removeEventListener(type, fn));
  }

  interval(fn, ms) {
    const id = setInterval(fn, ms);
    this.cleanups.push(() => clearInterval(id));
    return id;
  }

  timeout(fn, ms) {
    const id = setTimeout(fn, ms);
    this.cleanups.push(() => clearTimeout(id));
    return id;
  }

  add(cleanup) {
    this.cleanups.push(cleanup);
  }

  /** Run fn at most once per `ms`, trailing call included (for event-driven refetches). */
  throttle(fn, ms) {
    let timer = null;
    let last = 0;
    const run = () => {
      timer = null;
      last = Date.now();
      if (!this.disposed) fn();
    };
    this.cleanups.push(() => clearTimeout(timer));
    return () => {
      if (timer) return;
      const wait = Math.max(0, last + ms - Date.now());
      timer = setTimeout(run, wait);
    };
  }

  dispose() {
    this.disposed = true;
    this.controller.abort();
    for (const fn of this.cleanups.splice(0).reverse()) {
      try {
        fn();
      } catch {
        /* a cleanup must not stop the others */
      }
    }
  }
}

"""The `ray` executor: job runners on a Ray cluster, the daemon still the single coordinator.

    daemon (RayExecutor) ──socketpair──► bridge process (the Ray driver)
                                           │ one actor per job, placed by Ray, with the
                                           │ module (working_dir), this sweatpants (py_modules)
                                           │ and the module's requirements.txt (pip)
                                           ▼
                                 JobActor on a node ──pipes──► runner child (runner.child_main)

The runner child is the same code a local job runs, speaking the same protocol frames; the
actor buffers its bytes and the bridge polls them in batches and relays them verbatim, so the
daemon parses exactly what a local runner would have sent. The Ray driver lives in its own
process because a Ray driver exits when its cluster's GCS is gone for a minute: that must
never take the daemon (its API, its local jobs) down with it.
"""

"""gunicorn hooks (settings are on the command line in ``start``)."""


def child_exit(server, worker):
    # A dead worker's live gauges must stop counting (prometheus_client multiprocess mode).
    try:
        from prometheus_client import multiprocess
    except ImportError:
        return
    multiprocess.mark_process_dead(worker.pid)

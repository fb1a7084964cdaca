"""The delivery worker (compatibility module): the pieces live in

- ``job.py``: a claimed row and its outcome; ``decide.py``: every delivery rule, pure;
- ``personalize.py``: template cache by message version, render, click rewrite;
- ``outbox.py``: the outcome buffer and its flush (bad-row isolation);
- ``store.py``: the ``DeliveryStore`` protocol and its SQL implementation
  (``repository.py`` holds the SQL); ``testing.py``: an in-memory store;
- ``sender.py``: one bot's pacing loop; ``supervisor.py``: leases, discovery, wake-ups;
- ``process.py``: ``hushcast worker``'s process settings and signals.
"""

from hushcast.delivery.job import Job
from hushcast.delivery.process import run_worker_process
from hushcast.delivery.sender import AppSender
from hushcast.delivery.supervisor import Worker

__all__ = ["AppSender", "Job", "Worker", "run_worker_process"]

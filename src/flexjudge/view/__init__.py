"""``flexjudge view``: judgments, media and reasoning side by side in a local browser page.

* :func:`load_source` reads a ``judge run`` output, a result store, a ``bench run`` folder or a
  ``bon`` / ``pairs`` output.
* :func:`make_server` serves it read-only on loopback; :func:`export_view` writes a static
  folder.  Nothing is fetched from the network and nothing is reported anywhere.
"""

from __future__ import annotations

from flexjudge.view.export import export_view
from flexjudge.view.server import make_server
from flexjudge.view.sources import ViewSource, load_source

__all__ = ["ViewSource", "export_view", "load_source", "make_server"]

"""Keep third-party libraries offline and quiet: runs must never reach the network at run time."""

from __future__ import annotations

import functools


@functools.cache
def make_offline() -> None:
    """Point tldextract (used by Presidio's e-mail and URL checks) at its bundled suffix-list snapshot."""
    import tldextract
    import tldextract.tldextract as impl

    impl.TLD_EXTRACTOR = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)

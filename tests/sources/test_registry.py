"""The registry: which sources a request gets, in server and forward mode."""

import httpx

from gateway import sources as registry
from gateway.config import Settings
from gateway.model import Source
from gateway.sources import build_sources
from gateway.sources.base import Unconfigured
from gateway.upstream import Metrics, UpstreamPolicy


def _set(**settings):
    return build_sources(httpx.AsyncClient(), Settings(**settings), UpstreamPolicy(), Metrics())


def test_server_mode_reports_sources_without_credentials():
    sources = _set(devrev_token="t").for_request({})
    assert [s.source for s in sources] == [Source.DEVREV, Source.DOCURIFT]
    assert not isinstance(sources[0], Unconfigured)
    assert isinstance(sources[1], Unconfigured) and "DOCURIFT_API_KEY" in sources[1].reason


def test_server_mode_hands_every_request_the_same_sources():
    source_set = _set(devrev_token="t", docurift_api_key="k")
    assert source_set.for_request({"X-DevRev-Token": "other"}) == source_set.for_request({})


def test_forward_mode_binds_each_credential_to_its_own_view():
    source_set = _set(credentials_mode="forward")
    a1 = source_set.for_request({"X-DevRev-Token": "a", "X-DocuRift-Key": "ka"})
    a2 = source_set.for_request({"X-DevRev-Token": "a", "X-DocuRift-Key": "ka"})
    b = source_set.for_request({"X-DevRev-Token": "b", "X-DocuRift-Key": "kb"})
    assert a1[0] is a2[0] and a1[1] is a2[1]  # one view per credential: its Retry-After gate persists
    assert a1[0] is not b[0]
    assert a1[0]._upstream._identity != b[0]._upstream._identity  # coalescing keys differ


def test_forward_mode_skips_a_source_whose_header_is_missing():
    devrev, docurift = _set(credentials_mode="forward").for_request({"X-DevRev-Token": "a"})
    assert not isinstance(devrev, Unconfigured)
    assert isinstance(docurift, Unconfigured) and "X-DocuRift-Key" in docurift.reason


def test_forward_views_are_bounded(monkeypatch):
    monkeypatch.setattr(registry, "FORWARD_VIEWS", 3)
    source_set = _set(credentials_mode="forward")
    first = source_set.for_request({"X-DevRev-Token": "t0"})[0]
    for n in range(1, 5):
        source_set.for_request({"X-DevRev-Token": f"t{n}"})
    assert source_set.for_request({"X-DevRev-Token": "t0"})[0] is not first  # evicted, rebuilt

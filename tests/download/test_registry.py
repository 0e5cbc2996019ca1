"""The packaged registry: the real sources (as published), strict parsing, targets that `ttvos run` reads."""

from __future__ import annotations

import copy

import pytest
import yaml

from ttvos.data.datasets import DATASETS
from ttvos.download import registry as registry_module
from ttvos.download.registry import RegistryError, load_registry, parse_registry

RELEASE = "https://github.com/hkchengrex/STCN/releases/download/1.0"
XMEM_RELEASE = "https://github.com/hkchengrex/XMem/releases/download/v1.0"
ONEDRIVE = "https://uillinoisedu-my.sharepoint.com/:u:/g/personal/hokeikc2_illinois_edu"
DAVIS_SITE = "https://data.vision.ee.ethz.ch/csergi/share/davis"

# Published sources: STCN's, XMem's and the TTT paper's READMEs and download scripts, the DAVIS site.
EXPECTED_SOURCES = {
    "stcn.pth": [
        ("url", f"{RELEASE}/stcn.pth"),
        ("drive", "1mRrE0uCI2ktdWlUgapJI_KmgeIiF2eOm"),
        ("onedrive", f"{ONEDRIVE}/Eav35v3GZIZFiq6dv9BM8n0BHtR1hD7QU9tcxH7hylG3dA?e=NXJpTu"),
    ],
    "stcn_s01.pth": [("url", f"{RELEASE}/stcn_s01.pth")],
    "stcn_s0.pth": [("url", f"{RELEASE}/stcn_s0.pth")],
    "stcn_s03.pth": [
        ("drive", "1JllXPJZola0G-g1aUQfXe9nLMBioj-aH"),
        ("onedrive", f"{ONEDRIVE}/EdhurrdqNTFIoK43NsboxOgBPTsMlJBoKOirflGUn-JqBA?e=8NATDz"),
    ],
    "XMem.pth": [("url", f"{XMEM_RELEASE}/XMem.pth")],
    "XMem-s012.pth": [("url", f"{XMEM_RELEASE}/XMem-s012.pth")],
    "XMem-s2.pth": [("url", f"{XMEM_RELEASE}/XMem-s2.pth")],
    "DAVIS-2017-trainval-480p.zip": [
        ("url", f"{DAVIS_SITE}/DAVIS-2017-trainval-480p.zip"),
        ("drive", "1kiaxrX_4GuW6NmiVuKGSGVoKGWjOdp6d"),
    ],
    "DAVIS-2017-test-dev-480p.zip": [
        ("url", f"{DAVIS_SITE}/DAVIS-2017-test-dev-480p.zip"),
        ("drive", "1fmkxU2v9cQwyb62Tj1xFDdh2p4kDsUzD"),
    ],
    "davisc.tar.gz": [("url", "http://ptak.felk.cvut.cz/personal/toliageo/share/davisc/davisc.tar.gz")],
    "YouTube2018-valid.zip": [("drive", "1-QrceIl5sUNTKz7Iq0UsWC6NLZq7girr")],
    "YouTube2018-valid_all_frames.zip": [("drive", "1yVoHM6zgdcL348cFpolFcEl4IC1gorbV")],
    "MOSE-valid.tar.gz": [("drive", "1yFoacQ0i3J5q6LmnTVVNTTgGocuPB_hR")],
}


def test_sources_are_the_published_ones():
    registry = load_registry()
    files = [m.file for m in registry.models.values() if m.file] + [
        a.file for a in registry.archives.values()
    ]
    assert {f.filename: [(s.kind, s.value) for s in f.sources] for f in files} == EXPECTED_SOURCES
    assert all(f.sha256 is None and f.size is None for f in files)  # none is published


def test_models_and_embedded_weights():
    models = load_registry().models
    assert [n for n, m in models.items() if m.default] == ["stcn", "stcn_s01", "stcn_s0"]
    assert {n: m.embedded for n, m in models.items() if m.embedded} == {
        "tiny": "tiny.pth",
        "tiny_s0": "tiny_s0.pth",
        "tiny_xmem": "tiny_xmem.pth",
    }
    path = registry_module.embedded_path(models["tiny"])
    assert path.parts[-3:] == ("ttvos", "embedded", "tiny.pth")
    assert {n for n, m in models.items() if m.family == "xmem"} == {
        "xmem",
        "xmem_s012",
        "xmem_s2",
        "tiny_xmem",
    }


def test_datasets_match_what_ttvos_run_reads():
    registry = load_registry()
    assert set(registry.datasets) == set(DATASETS) - {"folder"}
    targets = {
        name: [registry.archives[a].target for a in archives] for name, archives in registry.datasets.items()
    }
    assert targets == {
        "davis": ["DAVIS/2017/trainval"],
        "davis-testdev": ["DAVIS/2017/test-dev"],
        "davis-c": ["DAVIS/2017/trainval", "DAVIS-C"],
        "youtube": ["YouTube2018/valid", "YouTube2018/all_frames/valid_all_frames"],
        "mose": ["MOSE/valid"],
    }
    counts = {a.file.filename: a.videos for a in registry.archives.values()}
    assert counts["DAVIS-2017-trainval-480p.zip"] == 30 and counts["YouTube2018-valid.zip"] == 474
    assert counts["MOSE-valid.tar.gz"] == 311


@pytest.fixture()
def raw():
    return yaml.safe_load(
        registry_module.resources.files("ttvos.download").joinpath("registry.yaml").read_text()
    )


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d["models"]["stcn"].update(mirror="x"), "unknown keys"),
        (lambda d: d["models"]["stcn"]["sources"].append({"ftp": "x"}), "unknown source kind"),
        (lambda d: d["archives"]["davisc.tar.gz"].update(layout="davis-d"), "unknown layout"),
        (lambda d: d["datasets"].update(extra=["nope.zip"]), "must name an archive"),
        (lambda d: d["models"]["stcn"].update(file="stcn_s0.pth"), "file names must be unique"),
        (lambda d: d["models"]["xmem"].update(family="XMem"), "unknown family 'XMem'"),
        (lambda d: d["models"]["tiny"].update(family="sam"), "unknown family 'sam'"),
        (lambda d: d["models"].update(broken="x.pth"), "models.broken: expected a mapping"),
    ],
)
def test_parsing_is_strict(raw, edit, message):
    broken = copy.deepcopy(raw)
    edit(broken)
    with pytest.raises(RegistryError, match=message):
        parse_registry(broken)

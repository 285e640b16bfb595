"""Read a FHIR Bulk Data export (NDJSON, files per resource type, in any order) one patient at a time.

Two passes, bounded memory (docs/fhir.md, "Bulk Data"):

1. Every line of every file is parsed once to find its resource type, id and patient; the index
   keeps, per patient, only the line's place: file number, byte offset, length and line number,
   16 bytes a resource line in an ``array('Q')``, plus, to find duplicate ids, a 64-bit hash of
   ``Type/id`` with the line's patient and place (20 bytes a line) and a sorted copy of the hashes
   at the end, all freed after the pass. No resource content is kept.
2. Patients are read back in order of first appearance (the Patient files first) with their
   lines read back with ``os.pread``, mapped, and yielded one by one: only one patient's
   resources are in memory at a time.

Nothing touches the disk but the inputs, which are only read. A line that cannot be read makes
its patient an error record when the line still names the patient (a ``"reference"`` to
``Patient/<id>``). A line that names no patient is an error record of its own: which patient it
belonged to cannot be known, so fix the export and read it again (docs/fhir.md).
"""

from __future__ import annotations

import os
import re
from array import array
from collections.abc import Collection, Iterable, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import date
from itertools import islice, pairwise
from pathlib import Path
from typing import Any

from npc_kg.errors import InputError
from npc_kg.fhir.bundle import mapper_for, read_bundle
from npc_kg.fhir.errors import DuplicateIdError, FhirInputError, MissingReferenceError
from npc_kg.fhir.mapper import PatientMapper
from npc_kg.fhir.mapping import FhirMapping
from npc_kg.fhir.model import FhirPatient, FhirRecordError, ReadStats, SourceRef
from npc_kg.fhir.resources import check_resource, loads, patient_id_of, patient_references

__all__ = ["BulkExport", "BulkIndex", "bulk_files", "index_bulk", "iter_bulk"]

_RAW_PATIENT = re.compile(rb'"reference"\s*:\s*"(?:[^"]*/)?Patient/([A-Za-z0-9\-.]{1,64})"')
_OFFSET_BITS = 48
_LINE_BITS = 32


def bulk_files(paths: Iterable[str | Path]) -> tuple[list[Path], list[Path]]:
    """``(NDJSON files, JSON files)`` of ``paths``: a folder gives its ``*.ndjson`` files.

    NDJSON files are ordered Patient files first, then by name, so patients come out in the
    order of the export's Patient files.
    """
    ndjson: list[Path] = []
    json_files: list[Path] = []
    for item in paths:
        path = Path(item)
        if path.is_dir():
            found = sorted(path.glob("*.ndjson"))
            if not found:
                raise InputError("no .ndjson file in the folder (a FHIR Bulk Data export is a folder of NDJSON files, "
                                 "one resource a line); give the export's folder or its files", path=str(path))
            ndjson += found
        elif not path.exists():
            raise InputError("no such file or folder", path=str(path))
        elif path.suffix.lower() == ".json":
            json_files.append(path)
        else:
            ndjson.append(path)
    ndjson = list(dict.fromkeys(ndjson))
    ndjson.sort(key=lambda p: (not p.name.startswith("Patient"), p.name, str(p)))
    return ndjson, json_files


@dataclass
class BulkIndex:
    """Where each patient's resource lines are: the result of pass 1."""

    files: list[Path]
    entries: dict[str, array]  # type: ignore[type-arg]
    """patient id -> array('Q') of (file << 48 | offset, line << 32 | length) pairs."""
    broken: dict[str, FhirRecordError]
    """patients that cannot be assessed (a bad line names them, duplicate ids, missing Patient)."""
    orphans: list[FhirRecordError]
    """bad lines that name no patient: one error record each."""
    patients_with_resource: set[str]
    stats: ReadStats
    """Resources that name no patient (practitioners, organisations...): counted, not read."""


def _hash(kind: str, rid: str) -> int:
    """A 64-bit hash of ``Type/id`` (Python's own: stable within the process that runs both passes)."""
    return hash((kind, rid)) & 0xFFFFFFFFFFFFFFFF


def index_bulk(files: Sequence[Path], references: Sequence[str], read_types: Collection[str] = ()) -> BulkIndex:
    """Pass 1: index every resource line of ``files`` by the patient it names.

    A resource of one of ``read_types`` (the types the mapping reads) that names no patient is an
    error record of its own: left out quietly, it could change its patient's verdict.
    """
    entries: dict[str, array] = {}  # type: ignore[type-arg]
    broken: dict[str, FhirRecordError] = {}
    orphans: list[FhirRecordError] = []
    with_resource: set[str] = set()
    stats = ReadStats()
    hashes = array("Q")
    owners = array("L")
    places = array("Q")  # file << 32 | line of each hashed resource, to name a duplicate
    order: list[str] = []
    numbers: dict[str, int] = {}

    def patient_number(pid: str) -> int:
        number = numbers.get(pid)
        if number is None:
            number = numbers[pid] = len(order)
            order.append(pid)
        return number

    def fail(pid: str | None, error: FhirInputError) -> None:
        record = FhirRecordError(pid or "", str(error), error.path, error.line)
        if pid is None:
            orphans.append(record)
        else:
            broken.setdefault(pid, record)
            entries.setdefault(pid, array("Q"))

    for file_no, path in enumerate(files):
        name = str(path)
        try:
            handle = path.open("rb")
        except OSError as error:
            raise InputError(f"cannot read the file: {error.strerror}", path=name) from None
        with handle:
            offset = 0
            for line_no, raw in enumerate(handle, start=1):
                start, offset = offset, offset + len(raw)
                if not raw.strip():
                    continue
                try:
                    resource = loads(raw, path=name, line=line_no)
                    kind = check_resource(resource, path=name, line=line_no)
                except FhirInputError as error:
                    found = _RAW_PATIENT.search(raw)
                    fail(found.group(1).decode() if found else None, error)
                    continue
                rid = resource.get("id")
                if kind == "Patient":
                    pid = rid if isinstance(rid, str) and rid else None
                    if pid is None:
                        fail(None, FhirInputError("a Patient resource without an id cannot be matched to its "
                                                  "resources; give every Patient an id", path=name, line=line_no))
                        continue
                    with_resource.add(pid)
                else:
                    pids = {p for _e, ref in patient_references(resource, references) if (p := patient_id_of(ref))}
                    if not pids and kind in read_types and not patient_references(resource, references):
                        # no literal reference at all (missing, a string, an identifier only): a reference
                        # to a Device, Location or Group is about no patient, and is not read
                        fail(None, FhirInputError(f"a resource of type {kind} has no reference in "
                                                  f"{' or '.join(references)}, so which patient it belongs to "
                                                  "cannot be known; fix the export", path=name, line=line_no))
                        continue
                    if not pids:
                        stats.resources += 1
                        stats.unused_types[kind] += 1
                        continue
                    if len(pids) > 1:
                        for pid in sorted(pids):
                            fail(pid, FhirInputError("a resource names two different patients in its patient "
                                                     "references; fix the resource", path=name, line=line_no))
                        continue
                    pid = next(iter(pids))
                if not isinstance(rid, str) or not rid:
                    rid = f"line-{line_no}@{file_no}"
                bucket = entries.get(pid)
                if bucket is None:
                    bucket = entries[pid] = array("Q")
                bucket.append((file_no << _OFFSET_BITS) | start)
                bucket.append((line_no << _LINE_BITS) | (offset - start))
                hashes.append(_hash(kind, rid))
                owners.append(patient_number(pid))
                places.append((file_no << 32) | line_no)
    # duplicate ids (of the same type), found on the hashes: the repeated values first (one sorted
    # copy of the hashes), then every line that has one of them
    repeated = {a for a, b in pairwise(sorted(hashes)) if a == b}
    if repeated:
        for this, value in enumerate(hashes):
            if value not in repeated:
                continue
            pid = order[owners[this]]
            duplicate = DuplicateIdError("two resources of the same type have the same id (in this patient's data "
                                         "or another's); give each resource its own id",
                                         path=str(files[places[this] >> 32]), line=places[this] & 0xFFFFFFFF)
            broken.setdefault(pid, FhirRecordError(pid, str(duplicate), duplicate.path, duplicate.line))
    del hashes, owners, places
    if with_resource:
        for pid, bucket in entries.items():
            if pid not in with_resource and pid not in broken and len(bucket) >= 2:
                missing = MissingReferenceError("the resource names a Patient that is not in the export's Patient "
                                                "resources; export that Patient too",
                                                path=str(files[bucket[0] >> _OFFSET_BITS]), line=bucket[1] >> _LINE_BITS)
                broken[pid] = FhirRecordError(pid, str(missing), missing.path, missing.line)
    return BulkIndex(list(files), entries, broken, orphans, with_resource, stats)


def _read_patient(pid: str, bucket: array, index: BulkIndex, fds: list[int], mapper: PatientMapper,  # type: ignore[type-arg]
                  at: date | None = None) -> FhirPatient:
    items: list[tuple[dict[str, Any], SourceRef]] = []
    seen: set[tuple[str, str]] = set()
    patient_source = None
    for i in range(0, len(bucket), 2):
        first, second = bucket[i], bucket[i + 1]
        file_no, start = first >> _OFFSET_BITS, first & ((1 << _OFFSET_BITS) - 1)
        line_no, length = second >> _LINE_BITS, second & ((1 << _LINE_BITS) - 1)
        path = str(index.files[file_no])
        resource = loads(os.pread(fds[file_no], length, start), path=path, line=line_no)
        kind = resource["resourceType"]
        rid = resource.get("id") if isinstance(resource.get("id"), str) and resource.get("id") else f"line-{line_no}"
        if (kind, rid) in seen:
            raise DuplicateIdError(f"two {kind} resources of this patient have the same id; give each resource its own id",
                                   path=path, line=line_no)
        seen.add((kind, rid))
        ref = SourceRef(kind, rid, f"{path}:{line_no}", path=path, line=line_no)
        if kind == "Patient":
            patient_source = ref
        items.append((resource, ref))
    where = ", ".join(sorted({ref.path for _r, ref in items}))
    return mapper.map(items, source_id=pid, where=where, patient_source=patient_source, at=at)


class BulkExport:
    """A Bulk Data export: pass 1 (the index) once, then the patients, all or part of them.

    Records come in one order: the bad lines that name no patient, the patients (Patient files'
    order first), then the ``.json`` bundle files. ``records(shard=k, shards=n)`` yields the k-th
    of n interleaved shards (record i goes to shard i mod n); ``records(start=a, stop=b)`` the
    records a to b - 1 of that order. So forked workers that share the index (built before the
    fork) read disjoint patients; together they yield what ``records()`` yields. ``at`` is the
    date of the assessment (for ages from ``Patient.birthDate``; default today, UTC).
    """

    def __init__(self, paths: Iterable[str | Path], *, mapping: FhirMapping | None = None, at: date | None = None) -> None:
        self.mapping = mapping
        self.mapper = mapper_for(mapping)
        self.at = at
        self.ndjson, self.json_files = bulk_files(paths)
        self._index: BulkIndex | None = None
        self._patients: list[str] | None = None

    def index(self) -> BulkIndex:
        """Pass 1 (done once)."""
        if self._index is None:
            mapping = self.mapper.mapping
            self._index = index_bulk(self.ndjson, mapping.patient_references, mapping.read_types)
            self._patients = list(self._index.entries)
        return self._index

    def __len__(self) -> int:
        """The number of records :meth:`records` yields (patients, bad lines naming none, bundle files)."""
        index = self.index()
        return len(index.orphans) + len(index.entries) + len(self.json_files)

    def records(self, *, shard: int = 0, shards: int = 1, start: int = 0,
                stop: int | None = None) -> Iterator[FhirPatient | FhirRecordError]:
        """Yield one :class:`FhirPatient` or :class:`FhirRecordError` per record (of this shard, in ``start:stop``)."""
        if not 0 <= shard < shards:
            raise ValueError("shard must be in 0 .. shards - 1")
        index = self.index()
        patients = self._patients if self._patients is not None else list(index.entries)
        orphans, json_files = index.orphans, self.json_files
        end = len(orphans) + len(patients) + len(json_files) if stop is None else stop
        with ExitStack() as stack:
            fds: list[int] = []
            for number in range(max(start, 0), end):
                if number % shards != shard:
                    continue
                if number < len(orphans):
                    yield orphans[number]
                    continue
                at = number - len(orphans)
                if at < len(patients):
                    if not fds:
                        fds = [stack.enter_context(path.open("rb")).fileno() for path in index.files]
                    yield self._patient(patients[at], index, fds)
                    continue
                path = json_files[at - len(patients)]
                try:
                    yield read_bundle(path, mapping=self.mapping, at=self.at)
                except FhirInputError as failure:
                    yield FhirRecordError("", str(failure), failure.path, failure.line)

    def _patient(self, pid: str, index: BulkIndex, fds: list[int]) -> FhirPatient | FhirRecordError:
        error = index.broken.get(pid)
        if error is not None:
            return error
        try:
            return _read_patient(pid, index.entries[pid], index, fds, self.mapper, self.at)
        except FhirInputError as failure:
            return FhirRecordError(pid, str(failure), failure.path, failure.line)

    def patient_ids(self, start: int = 0, stop: int | None = None) -> list[str]:
        """The FHIR Patient ids of the records ``start:stop`` (``""`` for a bad line or a bundle file)."""
        index = self.index()
        patients = self._patients if self._patients is not None else list(index.entries)
        order = [""] * len(index.orphans)
        return list(islice([*order, *patients, *[""] * len(self.json_files)], start, stop))


def iter_bulk(paths: Iterable[str | Path], *, mapping: FhirMapping | None = None,
              at: date | None = None) -> Iterator[FhirPatient | FhirRecordError]:
    """Yield one :class:`FhirPatient` or :class:`FhirRecordError` per patient of a Bulk Data export.

    ``paths`` are NDJSON files (one resource a line, any resource types, in any order) or
    folders of ``*.ndjson`` files; a ``.json`` file is read as one patient's Bundle. Lines that
    cannot be read and name no patient are yielded first, one error record each; then the
    patients, Patient files' order first. A broken patient is an error record, and the run goes
    on: records out = patients in (plus unattributable bad lines). :class:`BulkExport` does the
    same in shards, for workers.
    """
    yield from BulkExport(paths, mapping=mapping, at=at).records()

"""FHIR inputs of a cohort run: a Bulk Data export (NDJSON files or folders, bundle files) as batches of patients.

A patient's resources are spread over the export's files in any order, so all FHIR inputs of a
run are one :class:`~npc_kg.fhir.bulk.BulkExport`: pass 1 indexes every line by patient (byte
offsets only; memory grows with the number of patients, docs/fhir.md), then batches are read
by position range (:meth:`FhirCohort.batch`). With ``--workers``, the index is built before the
workers are forked and each worker reads, maps and assesses its own ranges.

A batch holds the in-scope patients as N-Triples (without the ``rdfs:subClassOf`` bridges of
narrower codes: those go to the evaluators as class hierarchy, ``Batch.subclasses``), the
out-of-scope patients as settled rows (verdict ``out-of-scope``, never an error), and every
record that cannot be read as an error record; each with the FHIR Patient id as ``source_id``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from npc_kg.cohort.reader import Batch, ErrorRecord, Piece
from npc_kg.core.rules import OUT_OF_SCOPE, PatientRow
from npc_kg.extras import require_fhir
from npc_kg.fhir.detect import is_bulk_input

if TYPE_CHECKING:  # pragma: no cover
    from npc_kg.fhir.bulk import BulkExport

__all__ = ["FhirCohort", "is_fhir_input"]


def is_fhir_input(path: str | Path) -> bool:
    """True for a cohort input that is FHIR: a folder, an ``.ndjson`` file or a FHIR ``.json`` bundle."""
    return is_bulk_input(path)


class FhirCohort:
    """The FHIR inputs of one run, read with the shipped FHIR mapping extended by ``mappings`` (site files).

    ``at`` is the date of the assessment (FHIR ages are counted to it).
    """

    def __init__(self, paths: Sequence[str | Path], *, mappings: Sequence[str | Path] = (), at: date | None = None) -> None:
        require_fhir()
        from npc_kg.fhir.bulk import BulkExport
        from npc_kg.fhir.bundle import default_mapper
        from npc_kg.fhir.mapping import load_fhir_mapping
        mapping = load_fhir_mapping(list(mappings)) if mappings else default_mapper().mapping
        self.paths = [Path(p) for p in paths]
        self.export: BulkExport = BulkExport(self.paths, mapping=mapping, at=at)
        self.subclasses = tuple(mapping.bridges())
        self.patient_base = mapping.patient_base

    def __len__(self) -> int:
        """The number of records (patients, unreadable lines that name none, bundle files); builds the index."""
        return len(self.export)

    def size(self) -> int:
        """Bytes of the input files (for progress)."""
        total = 0
        for path in self.paths:
            if path.is_dir():
                total += sum(os.path.getsize(p) for p in path.glob("*.ndjson"))
            elif path.exists():
                total += os.path.getsize(path)
        return total

    def ranges(self, batch_size: int) -> list[tuple[int, int]]:
        """Record ranges of at most ``batch_size`` records, in order (builds the index)."""
        count = len(self)
        return [(start, min(start + batch_size, count)) for start in range(0, count, batch_size)]

    def batch(self, start: int, stop: int) -> Batch:
        """Records ``start`` to ``stop - 1`` as a batch: N-Triples of the in-scope patients, settled
        out-of-scope rows, error records."""
        from npc_kg.fhir.model import FhirRecordError
        from npc_kg.fhir.triples import iri_part

        batch = Batch(fmt="nt", position=stop, where="FHIR export", subclasses=self.subclasses)
        chunks: list[bytes] = []
        for item in self.export.records(start=start, stop=stop):
            if isinstance(item, FhirRecordError):
                subject = self.patient_base + iri_part(item.source_id) if item.source_id else ""
                batch.errors.append(ErrorRecord(subject, item.message, item.source_id))
            elif not item.in_scope:
                batch.settled.append(PatientRow(item.iri, OUT_OF_SCOPE, {}, "", item.source_id))
            else:
                lines = item.ntriples(bridges=False)
                data = ("\n".join(lines) + "\n").encode("utf-8")
                chunks.append(data)
                batch.roots.append(item.iri)
                batch.source_ids[item.iri] = item.source_id
                batch.records.append(Piece(item.iri, len(data), ()))
        batch.data = b"".join(chunks)
        return batch

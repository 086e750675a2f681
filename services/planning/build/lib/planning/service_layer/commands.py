from dataclasses import dataclass

from planning.domain.referential import ReferentialPart


@dataclass(frozen=True)
class LoadReferential:
    part: ReferentialPart
    dry_run: bool = False

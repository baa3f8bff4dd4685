"""Resource ids as clients write them: any integer, though only some can name a stored row."""

from __future__ import annotations

# Ids are positive 32-bit integers: the schema's INTEGER keys (PostgreSQL's ``integer``, which
# refuses even to compare with a larger parameter). A larger one names nothing: it is looked
# up as missing, never sent to the database.
ID_MAX = 2**31 - 1


def could_exist(resource_id: int) -> bool:
    return 1 <= resource_id <= ID_MAX

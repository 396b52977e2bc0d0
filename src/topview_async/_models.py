"""The base model every generated model extends.

Topview's documentation is incomplete in places (see the UNCONFIRMED marks in the
reference), so every model keeps fields it does not know instead of dropping them:
``model.model_extra`` holds them and ``model_dump(by_alias=True)`` sends them back.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class TopviewModel(BaseModel):
    """Base of all Topview request and response models.

    * unknown fields from the server are kept (``extra="allow"``);
    * fields can be filled by their Python name or their exact wire name;
    * serialise with ``model_dump(by_alias=True, exclude_none=True)`` to get wire names.
    """

    model_config = ConfigDict(
        extra="allow",
        populate_by_name=True,
        validate_by_alias=True,
        validate_by_name=True,
        serialize_by_alias=True,
        use_enum_values=False,
        protected_namespaces=(),
        defer_build=True,
    )

    def to_wire(self) -> dict[str, object]:
        """JSON-ready dict with Topview's exact field names.

        ``None`` and unset values are left out, so the server's documented defaults apply.
        """
        return self.model_dump(mode="json", by_alias=True, exclude_none=True, exclude_unset=True)

"""InvenioRDM JSON (`application/vnd.inveniordm.v1+json`): reading RDM metadata, writing RDM records.

The store keeps legacy metadata (one home for validation and search); RDM bodies are translated
to it on the way in and back on the way out, the way zenodo-rdm's legacy layer maps the two
(site/zenodo_rdm/legacy/deserializers/schemas.py, serializers/schemas/common.py).
"""

from __future__ import annotations

from collections.abc import Sequence

from zenodo_atlas.zenodo.server.responses import FieldErrors
from zenodo_atlas.zenodo.server.serializers import Context, _key
from zenodo_atlas.zenodo.server.state import Draft, Published, Store, StoredFile, StoredRecord

RDM_MIMETYPE = "application/vnd.inveniordm.v1+json"
_ALTERNATE = "isAlternateIdentifier"
_SUBTYPED = {"publication": "publication_type", "image": "image_type"}


def wants_rdm(accept: str | None) -> bool:
    return RDM_MIMETYPE in (accept or "")


def legacy_from_rdm(body: object) -> dict:
    """The legacy metadata an RDM draft body stands for (fields the legacy layer has no home for are dropped)."""
    if not isinstance(body, dict) or not isinstance(body.get("metadata", {}), dict):
        raise FieldErrors({"metadata": ["Not a valid mapping type."]})
    meta: dict = body.get("metadata") or {}
    access: dict = body.get("access") or {}
    out: dict = {k: meta[k] for k in ("title", "description", "publication_date", "version", "language")
                 if meta.get(k) is not None}
    kind = str((meta.get("resource_type") or {}).get("id") or "")
    if kind:
        main, _, sub = kind.partition("-")
        out["upload_type"] = main
        if sub and main in _SUBTYPED:
            out[_SUBTYPED[main]] = sub
    out["creators"] = [_legacy_person(c) for c in meta.get("creators") or []]
    if meta.get("rights"):
        out["license"] = str(meta["rights"][0].get("id", ""))
    if meta.get("subjects"):
        out["keywords"] = [s.get("subject", "") for s in meta["subjects"] if isinstance(s, dict)]
    related = [{"identifier": i.get("identifier"), "relation": _ALTERNATE, "scheme": i.get("scheme")}
               for i in meta.get("identifiers") or []]
    related += [{"identifier": r.get("identifier"), "scheme": r.get("scheme"),
                 "relation": (r.get("relation_type") or {}).get("id", "")}
                for r in meta.get("related_identifiers") or []]
    if related:
        out["related_identifiers"] = [{k: v for k, v in r.items() if v} for r in related]
    if access.get("embargo", {}).get("active"):
        out |= {"access_right": "embargoed", "embargo_date": access["embargo"].get("until")}
    elif access.get("files") == "restricted" or access.get("record") == "restricted":
        out["access_right"] = "restricted"
    return {k: v for k, v in out.items() if v not in (None, [])}


def _legacy_person(creator: dict) -> dict:
    person = creator.get("person_or_org") or {}
    name = person.get("name") or ", ".join(p for p in (person.get("family_name"), person.get("given_name")) if p)
    out = {"name": name}
    affiliations = [a.get("name") for a in creator.get("affiliations") or [] if a.get("name")]
    if affiliations:
        out["affiliation"] = affiliations[0]
    return out


def _rdm_person(creator: dict) -> dict:
    family, _, given = str(creator.get("name", "")).partition(", ")
    person = {"type": "personal", "name": creator.get("name", ""), "family_name": family, "given_name": given}
    out: dict = {"person_or_org": person}
    if creator.get("affiliation"):
        out["affiliations"] = [{"name": creator["affiliation"]}]
    return out


def rdm_metadata(meta: dict) -> dict:
    kind = meta.get("upload_type", "other")
    sub = meta.get(_SUBTYPED.get(kind, ""), "")
    out: dict = {k: meta[k] for k in ("title", "description", "publication_date", "version", "language")
                 if k in meta}
    out["resource_type"] = {"id": f"{kind}-{sub}" if sub else kind}
    out["creators"] = [_rdm_person(c) for c in meta.get("creators") or []]
    out["publisher"] = "Zenodo"
    if meta.get("license"):
        out["rights"] = [{"id": meta["license"]}]
    if meta.get("keywords"):
        out["subjects"] = [{"subject": k} for k in meta["keywords"]]
    related = meta.get("related_identifiers") or []
    identifiers = [{"identifier": r["identifier"], "scheme": r.get("scheme", "other")}
                   for r in related if r.get("relation") == _ALTERNATE]
    others = [{"identifier": r["identifier"], "scheme": r.get("scheme", "other"),
               "relation_type": {"id": str(r.get("relation", "")).lower()}}
              for r in related if r.get("relation") != _ALTERNATE]
    if identifiers:
        out["identifiers"] = identifiers
    if others:
        out["related_identifiers"] = others
    return out


def _access(meta: dict) -> dict:
    right = meta.get("access_right", "open")
    files = "public" if right == "open" else "restricted"
    embargo = {"active": right == "embargoed", "reason": None}
    if right == "embargoed":
        embargo["until"] = meta.get("embargo_date")
    return {"record": "public", "files": files, "embargo": embargo}


def file_entries(record: StoredRecord, files: list[StoredFile], ctx: Context, *, draft: bool,
                 pending: Sequence[str] = ()) -> dict:
    base = f"{ctx.api}/records/{record.id}/{'draft/' if draft else ''}files"
    entries = [
        {"key": f.key, "file_id": f.id, "id": f.id, "size": f.size, "checksum": f"md5:{f.md5}",
         "mimetype": f.mimetype, "status": "completed", "storage_class": "L", "created": f.created,
         "updated": f.updated, "metadata": {},
         "links": {"self": f"{base}/{_key(f.key)}", "content": f"{base}/{_key(f.key)}/content",
                   **({"commit": f"{base}/{_key(f.key)}/commit"} if draft else {})}}
        for f in files
    ]
    entries += [
        {"key": key, "status": "pending", "metadata": None,
         "links": {"self": f"{base}/{_key(key)}", "content": f"{base}/{_key(key)}/content",
                   "commit": f"{base}/{_key(key)}/commit"}}
        for key in pending
    ]
    return {"enabled": True, "entries": entries, "order": [], "default_preview": None,
            "total_bytes": sum(f.size for f in files), "links": {"self": base}}


def rdm_record(record: StoredRecord, store: Store, ctx: Context, *, draft: bool) -> dict:
    """A draft (draft=True) or the published version in RDM JSON."""
    side: Draft | Published | None = record.draft if draft else record.published
    assert side is not None
    rid, concept = record.id, record.conceptrecid
    api = f"{ctx.api}/records/{rid}"
    published = record.published is not None
    versions = store.versions(concept)
    index = next((i for i, v in enumerate(versions) if v.id == rid), len(versions))
    pids: dict = {}
    if published:
        pids["doi"] = {"identifier": ctx.doi(rid), "provider": "datacite", "client": "datacite"}
    parent: dict = {"id": str(concept), "access": {"owned_by": {"user": str(record.owner)}}}
    if versions:
        parent["pids"] = {"doi": {"identifier": ctx.doi(concept), "provider": "datacite", "client": "datacite"}}
    links = {
        "self": f"{api}/draft" if draft else api,
        "self_html": f"{ctx.base}/uploads/{rid}" if draft else f"{ctx.base}/records/{rid}",
        "files": f"{api}/draft/files" if draft else f"{api}/files",
        "versions": f"{api}/versions",
        "latest": f"{api}/versions/latest",
        "record": api,
        "draft": f"{api}/draft",
        "publish": f"{api}/draft/actions/publish",
        "reserve_doi": f"{api}/draft/pids/doi",
    }
    return {
        "id": str(rid),
        "created": side.created,
        "updated": side.modified if isinstance(side, Draft) else side.updated,
        "revision_id": side.revision if isinstance(side, Published) else 1,
        "is_draft": draft,
        "is_published": published and not draft,
        "status": ("draft" if not published else "published_draft") if draft else "published",
        "pids": pids,
        "parent": parent,
        "access": _access(side.metadata),
        "metadata": rdm_metadata(side.metadata),
        "custom_fields": {},
        "files": file_entries(record, side.files, ctx, draft=draft),
        "versions": {"index": index + 1, "is_latest": published and index == len(versions) - 1,
                     "is_latest_draft": draft},
        "links": links,
    }

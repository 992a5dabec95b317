"""COS CI templates: Create/Update/Describe/DeleteMediaTemplate. Official presets are listed, never changed."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from ...control.templates import (
    create_template,
    delete_template,
    list_templates,
    template_detail,
    update_template,
)
from ...control.workflows import template_users
from ..routing import Route, page, times

router = Router()
route = Route(router)


@router.post("/template")
def create() -> Response[str]:
    return route.ok({"Template": times(template_detail(create_template(route.bucket, route.body())))})


@router.put("/template/<template_id>")
def update(template_id: str) -> Response[str]:
    return route.ok({"Template": times(template_detail(update_template(route.bucket, template_id, route.body())))})


@router.get("/template")
def describe() -> Response[str]:
    number, size = route.integer("pageNumber", 1, 1, 10000), route.integer("pageSize", 10, 1, 100)
    found = list_templates(route.bucket, category=route.query("category") or "Custom", tag=route.query("tag"),
                           ids_=route.ids("ids"), name=route.query("name"))
    return route.ok({"TotalCount": len(found), "PageNumber": number, "PageSize": size,
                     "TemplateList": [times(template_detail(t)) for t in page(found, number, size)]})


@router.delete("/template/<template_id>")
def delete(template_id: str) -> Response[str]:
    delete_template(route.bucket, template_id, template_users(route.bucket, template_id))
    return route.ok({"TemplateId": template_id})

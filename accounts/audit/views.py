"""The audit trail of the current site: who did what, when, from where."""

from django.views.generic import TemplateView

from accounts.permissions import USER_DETAILS, Access, request_has_permission
from matmis.exports import ExportPage, export_links, export_response
from matmis.listing import list_page
from matmis.site_access import ANY_SITE
from matmis.views import SitePageView

from .exports import audit_table
from .forms import AuditFilterForm
from .selectors import audit_events

AUDIT_PAGE_SIZE = 50
SEE_AUDIT = (USER_DETAILS, Access.VIEW)
# On a school's site, its administrators also see the reads of its pupils from outside the
# school (``mis``'s page beside this one, needing the same).
SEE_OUTSIDE_READS = (USER_DETAILS, Access.ADMINISTER)


class AuditEventListView(SitePageView, TemplateView):
    """/audit/: this site's events, newest first, filtered by the query string."""

    site_kind = ANY_SITE
    method_permissions = {"GET": SEE_AUDIT}
    template_name = "accounts/audit.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        request = self.request
        form = AuditFilterForm(request.GET or None)
        filters = form.filters()
        page = list_page(
            request, audit_events(site=request.site, **filters), per_page=AUDIT_PAGE_SIZE
        )
        paginator = page.paginator
        query = request.GET.copy()
        query.pop("page", None)
        context.update(
            {
                "form": form,
                "page": page,
                "events": page.object_list,
                "page_range": paginator.get_elided_page_range(
                    page.number, on_each_side=1, on_ends=1
                ),
                "query": query.urlencode(),
                "filtered": any(value for value in filters.values()),
                "exports": export_links("audit:events-export", query),
                "outside_reads_tab": request.site.is_school
                and request_has_permission(request, *SEE_OUTSIDE_READS),
            }
        )
        return context


class AuditExportView(ExportPage, SitePageView):
    """/audit/export.csv and .xlsx: the events the Audit page lists for the same filters."""

    site_kind = ANY_SITE
    method_permissions = {"GET": SEE_AUDIT}

    def get(self, request):
        filters = AuditFilterForm(request.GET or None).filters()
        table = audit_table(site=request.site, filters=filters)
        return export_response(table, site=request.site, export_format=self.export_format)

"""REST endpoints of the pages that compose several apps: Browse Institutions' export (the
register's schools with their data sharing status)."""

from institutions.api import BROWSE_PARAMETERS, browse_form_or_400
from institutions.selectors import group_school_list
from matmis.exports import ExportApiView, export_response, export_schema
from matmis.site_access import SiteKind

from .exports import browse_table


class InstitutionExportView(ExportApiView):
    """The schools of ``institutions_list`` (same parameters, every page) with their data
    sharing status, as a CSV or XLSX file: Browse Institutions' export."""

    site_kind = SiteKind.GROUP
    method_permissions = {"GET": None}

    @export_schema(operation_id="institutions_export", parameters=BROWSE_PARAMETERS)
    def get(self, request):
        form = browse_form_or_400(request.query_params, group=request.site)
        schools = group_school_list(group=request.site, sort=form.sort_key(), **form.filters())
        table = browse_table(group=request.site, schools=schools)
        return export_response(table, site=request.site, export_format=self.export_format)

"""The school site's side of data sharing (Data > Data Sharing): the school's agreements
and requests, and approving or declining one, as pages (``views``, ``forms``, ``urls``,
namespace ``school_sharing``) and REST endpoints (``api``, ``api_urls``, in ``api``), with
their readers (``selectors``). The group site's side is the rest of ``sharing``."""

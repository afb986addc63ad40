"""Customer 360 analyst app: `streamlit run app.py` (or `make app`).

Routes with `st.navigation` to the pages in `views/` (not `pages/`: Streamlit auto-discovers a
`pages/` folder beside the main script and lists its files in the sidebar of a page opened by
URL in a fresh session). The sidebar carries the "Refresh data" button and says which warehouse
and PII mode are in use.
"""

from __future__ import annotations

import streamlit as st

from c360.app.artifacts import last_build_notice
from c360.app.pii import show_pii
from c360.app.ui import md_escape_message, refresh_button, warehouse
from c360.warehouse import WarehouseError

# An emoji favicon is an inline SVG; a `:material/...:` favicon would be fetched from
# fonts.gstatic.com, and the app must work offline (tests/test_e2e_untrusted.py blocks it).
st.set_page_config(page_title="Customer 360", page_icon="👥", layout="wide")

navigation = st.navigation(
    [
        st.Page("views/overview.py", title="Overview", icon=":material/dashboard:", default=True),
        st.Page("views/customer.py", title="Customer profile", icon=":material/person_search:"),
        st.Page("views/segments.py", title="Segments", icon=":material/donut_small:"),
        st.Page("views/audiences.py", title="Audiences", icon=":material/groups:"),
        st.Page("views/data_quality.py", title="Data quality", icon=":material/fact_check:"),
        st.Page("views/recommendations.py", title="Recommendations", icon=":material/recommend:"),
        st.Page("views/metrics_explorer.py", title="Metrics explorer", icon=":material/query_stats:"),
    ]
)

with st.sidebar:
    refresh_button()
    try:
        st.caption(f"Warehouse: {md_escape_message(warehouse().describe())}")
    except WarehouseError:
        st.caption("Warehouse: not built yet")
    st.caption("PII: shown (C360_SHOW_PII=1)" if show_pii() else "PII: masked (set C360_SHOW_PII=1 to show)")

try:
    served = warehouse()
except WarehouseError:
    served = None
notice = last_build_notice(served)
if notice:
    st.warning(notice, icon=":material/warning:")

navigation.run()

"""Entry point of the dashboard: `streamlit run services/dashboard/app.py`. Everything else is in fraudlake.dashboard."""

from fraudlake.dashboard.page import main

main()

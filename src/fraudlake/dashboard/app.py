"""The script `streamlit run` runs (`fraudlake dashboard`, the stack, the image). Everything else is in fraudlake.dashboard.page."""

from fraudlake.dashboard.page import main

main()

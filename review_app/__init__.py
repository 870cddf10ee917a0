"""The Streamlit review app (run it with ``gouji review``)."""

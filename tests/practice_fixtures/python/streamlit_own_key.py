"""Streamlit page where each visitor pastes their own key: their usage and abuse are billed to them, so
PG308/PG309 stay quiet; the cap and the logging still matter."""

import streamlit as st
from openai import OpenAI

api_key = st.sidebar.text_input("OpenAI API key", type="password")
prompt = st.chat_input("Ask me anything")
if api_key and prompt:
    # ruleid: PG314
    # ok: PG207
    client = OpenAI(api_key=api_key)
    # ruleid: PG306
    # ok: PG308, PG309, PG313
    stream = client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": prompt}], stream=True
    )
    st.write_stream(stream)

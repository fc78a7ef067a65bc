"""Streamlit page on the application's key: the script runs for every visitor, module level included."""

import openai
import streamlit as st
from openai import OpenAI

# ruleid: PG314
# ruleid: PG207
client = OpenAI()


def check(text: str) -> bool:
    return client.moderations.create(model="omni-moderation-latest", input=text).results[0].flagged


def answer(text: str) -> str:
    try:
        # ok: PG308
        # ruleid: PG309
        return client.responses.create(model="gpt-4o-mini", input=text, max_output_tokens=300).output_text
    except openai.APIError:
        return "The assistant is unavailable."


prompt = st.chat_input("Ask")
if prompt:
    if check(prompt):
        st.error("Rejected by the content policy.")
        st.stop()
    st.write(answer(prompt))

title = st.text_input("Title to improve")
if title:
    # The script is one function to the checks: its moderation of `prompt` above counts here too (PG308
    # judges per function, and a Streamlit page is one).
    # ruleid: PG309, PG313
    better = client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": title}], max_tokens=30
    )
    # ruleid: PG307
    print(better.choices[0].message.content)

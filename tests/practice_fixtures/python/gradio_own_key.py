"""Gradio app whose handler receives the visitor's key as an input."""

import gradio as gr
from openai import OpenAI


def respond(message, history, api_key):
    # ok: PG207
    client = OpenAI(api_key=api_key, timeout=30)
    # ok: PG308, PG309, PG313
    reply = client.responses.create(model="gpt-4o-mini", input=message, max_output_tokens=300)
    return reply.output_text


demo = gr.ChatInterface(respond, additional_inputs=[gr.Textbox(label="OpenAI key", type="password")])

"""The OpenAI Agents SDK and LangChain/LlamaIndex wrappers: the cap lives in the model definition."""

from agents import Agent, ModelSettings, Runner, input_guardrail
from fastapi import FastAPI
from langchain_openai import ChatOpenAI
from llama_index.llms.openai import OpenAI as LlamaOpenAI

app = FastAPI()

# ruleid: PG306
helper = Agent(name="helper", instructions="Answer briefly.")
# ok: PG306
capped = Agent(name="capped", instructions="Answer briefly.", model_settings=ModelSettings(max_tokens=300))


@input_guardrail
async def no_abuse(ctx, agent, text):
    ...


# ok: PG306
guarded = Agent(
    name="guarded", instructions="Answer.", model_settings=ModelSettings(max_tokens=300), input_guardrails=[no_abuse]
)

# ruleid: PG306, PG314
chat = ChatOpenAI(model="gpt-4o-mini")
# ok: PG306
# ruleid: PG314
llama = LlamaOpenAI(model="gpt-4o-mini", max_tokens=256)
# ok: PG306, PG314
bounded = ChatOpenAI(model="gpt-4o-mini", max_tokens=256, timeout=20)


@app.post("/agent")
async def run_agent(question: str):
    try:
        # ruleid: PG308, PG309
        result = await Runner.run(capped, question)
    except Exception:
        return {"error": "unavailable"}
    return {"answer": result.final_output}


@app.post("/guarded")
async def run_guarded(question: str):
    try:
        # ok: PG308
        # ruleid: PG309
        result = await Runner.run(guarded, question)
    except Exception:
        return {"error": "unavailable"}
    return {"answer": result.final_output}

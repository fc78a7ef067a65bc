// A service that talks to OpenAI through a corporate proxy: TLS settings on agents and dispatchers
// (PG304) and which clients name their organization (PG207).
import https from "node:https";
import OpenAI, { AzureOpenAI } from "openai";
import { ChatOpenAI } from "@langchain/openai";
import { Agent, ProxyAgent, setGlobalDispatcher } from "undici";
import { HttpsProxyAgent } from "https-proxy-agent";

const ORG = process.env.OPENAI_ORG_ID;
const VERIFY = false;

// ruleid: PG304
const insecure = new https.Agent({ keepAlive: true, rejectUnauthorized: false });
// ok: PG304
// ruleid: PG207
export const viaAgent = new OpenAI({ httpAgent: insecure, timeout: 20_000 });

export const viaDispatcher = new OpenAI({
  organization: ORG,
  timeout: 20_000,
  fetchOptions: {
    // ruleid: PG304
    dispatcher: new Agent({ connect: { rejectUnauthorized: false } }),
  },
});

export const viaProxy = new OpenAI({
  project: process.env.OPENAI_PROJECT_ID,
  // ruleid: PG304
  fetchOptions: { dispatcher: new ProxyAgent({ uri: "https://proxy.corp.acme-corp.com:8443", requestTls: { rejectUnauthorized: VERIFY } }) },
});

export const wrapped = new ChatOpenAI({
  model: "gpt-4o-mini",
  maxTokens: 256,
  timeout: 20_000,
  // ruleid: PG304
  configuration: { httpAgent: new HttpsProxyAgent("https://proxy.corp.acme-corp.com:8443", { rejectUnauthorized: false }) },
});

// ok: PG304
export const trusted = new OpenAI({ organization: ORG, httpAgent: new https.Agent({ ca: process.env.CORP_CA }) });
// ok: PG304
export const strict = new OpenAI({ organization: ORG, fetchOptions: { dispatcher: new Agent({ connect: { rejectUnauthorized: true } }) } });
// ok: PG304
export const fromConfig = new OpenAI({ organization: ORG, httpAgent: new https.Agent({ rejectUnauthorized: process.env.NODE_ENV === "production" }) });

// ruleid: PG304
process.env.NODE_TLS_REJECT_UNAUTHORIZED = "0";
// ok: PG304
process.env["NODE_TLS_REJECT_UNAUTHORIZED"] = "1";
// ruleid: PG304
setGlobalDispatcher(new Agent({ connect: { rejectUnauthorized: false } }));

// ruleid: PG207
export const plain = new OpenAI({ timeout: 20_000 });
// ok: PG207
export const byHeader = new OpenAI({ timeout: 20_000, defaultHeaders: { "OpenAI-Organization": ORG } });
// ok: PG207
export const azure = new AzureOpenAI({ apiVersion: "2024-10-21", timeout: 20_000 });
// ok: PG207
export const local = new OpenAI({ baseURL: "http://localhost:11434/v1", apiKey: "ollama", timeout: 20_000 });
// ok: PG207
export const gateway = new OpenAI({ baseURL: process.env.LLM_GATEWAY_URL, timeout: 20_000 });
// ok: PG207
export const configured = new OpenAI({ ...clientOptions(), timeout: 20_000 });
// ruleid: PG207
export const direct = new OpenAI({ baseURL: "https://api.openai.com/v1", timeout: 20_000 });

function clientOptions() {
  return { organization: ORG };
}

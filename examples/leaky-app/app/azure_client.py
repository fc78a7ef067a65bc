"""Client for the EU data-residency deployment on Azure OpenAI."""

import os

from openai import AzureOpenAI

API_VERSION = "2024-10-21"


def eu_client() -> AzureOpenAI:
    if os.getenv("AZURE_OPENAI_API_KEY"):
        return AzureOpenAI(
            azure_endpoint=os.environ["AZURE_OPENAI_ENDPOINT"],
            api_key=os.environ["AZURE_OPENAI_API_KEY"],
            api_version=API_VERSION,
        )
    # Works out of the box for the demo deployment.
    return AzureOpenAI(
        azure_endpoint="https://acme-support-eu.openai.azure.com/",
        api_key="c28f87f5a45c6e197739dde6d81c272d",
        api_version=API_VERSION,
    )

#!/usr/bin/env bash
# Pulls the reviewed prompts from the prompts repository before a deploy.
set -euo pipefail

GITHUB_TOKEN=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
EXPECTED_ARCHIVE_MD5=a0acd12ef34a9e956e710013fcc411ca

curl -fsSL -H "Authorization: Bearer ${GITHUB_TOKEN}" \
  -o prompts.tar.gz https://api.github.com/repos/acme/support-prompts/tarball/main
echo "${EXPECTED_ARCHIVE_MD5}  prompts.tar.gz" | md5sum -c -
tar -xzf prompts.tar.gz --strip-components=1 -C prompts/

"""The environment step: refuse a request whose organization, project or key belongs to another
environment than the running one, read from the request's effective headers (``default_headers``,
``extra_headers`` and ``with_options`` included).

An environment *owns* the identifiers and key fingerprints it declares: a value another environment
declares is refused even when the running environment declares nothing for that field. The error
names the owning environment, never the value.
"""

from __future__ import annotations

import logging

from prodguard.guard._call import Call, ClientInfo
from prodguard.guard._errors import EnvironmentMismatch
from prodguard.guard._io import Flow
from prodguard.guard._policy.policy import Policy
from prodguard.guard._steps.base import StepBase

log = logging.getLogger("prodguard.guard")


class EnvironmentStep(StepBase):
    name = "environment"

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self._warned = False
        # Checked once per distinct client identity: the answer cannot change while the policy does not.
        self._passed: set[ClientInfo] = set()

    def request(self, call: Call) -> Flow[None]:
        if call.client not in self._passed:
            self.check(call.client)
            self._passed.add(call.client)
        return
        yield

    def check(self, client: ClientInfo) -> None:
        policy = self.policy
        environments = policy.environments
        if not environments.declared:
            return
        running = policy.running_environment
        if running is None:
            if policy.environment_check.require_environment:
                raise EnvironmentMismatch("no running environment: set PRODGUARD_ENV or the policy's environment")
            if not self._warned:
                self._warned = True
                log.warning("prodguard: environments are declared but PRODGUARD_ENV is not set; environment check skipped")
            return
        env = environments.get(running)
        if env is None:
            raise EnvironmentMismatch(f"running environment {running!r} is not declared in [tool.prodguard.environments]")
        for what, value, allowed in (
            ("organization", client.organization, env.organizations),
            ("project", client.project, env.projects),
            ("API key", client.key_fingerprint, env.key_fingerprints),
        ):
            if value is None:
                if allowed:
                    raise EnvironmentMismatch(f"the request sends no {what}, but {running} declares one; set it explicitly")
                continue
            if value in allowed:
                continue
            owner = environments.owner_of(value)
            if owner is not None and owner.name != running:
                raise EnvironmentMismatch(f"{running} process refused to use the {what} of environment {owner.name!r}")
            if allowed:
                raise EnvironmentMismatch(f"{running} process refused to use an {what} not declared for it")

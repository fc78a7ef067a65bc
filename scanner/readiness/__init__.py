"""The production-readiness report (``prodguard report``): one row per practice of OpenAI's production
and safety best practices, with a status, the evidence behind it and the next step.

Data flows one way: a scan (``scanner.run``) and the project configuration give findings and settings;
``codefacts`` collects what the code does right (the guard installed, caps, end-user ids, moderation);
``assess`` judges each practice of ``catalog``; ``text``, ``json_doc`` and ``html`` render the result.
"""

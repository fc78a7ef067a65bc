"""The guard's policy: what each step does, loaded from the project configuration."""

"""The licence registry and the rights policy (YAML files legal teams read and edit), shipped as package data."""

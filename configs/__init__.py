"""Run configs (demo and examples), shipped as package data so `sovereign demo` works from a wheel install."""

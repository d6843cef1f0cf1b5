"""The weekly velocity-versus-quality digest (SPEC §7): figures kept per week, the post, its chart and JSON."""

"""Server-rendered pages per audience. Thin: read the form, call a service, render a template."""

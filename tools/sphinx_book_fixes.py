"""A Sphinx extension for the book: drop duplicated inline <script>s from the pages.

sphinx-thebe 0.3.1 adds its configuration as an inline script after the HTML builder has started;
Sphinx 7.4 then lists that script twice (once as filename None, once as ""), and the second copy
fails in the browser with "Identifier 'THEBE_JS_URL' has already been declared", a console error
on every page. ``tools/build_book.py`` copies this file into the staged book's ``_ext/`` and
``_config.yml`` loads it (``sphinx: local_extensions``).
"""

from __future__ import annotations


def _drop_duplicate_scripts(app, pagename, templatename, context, doctree) -> None:
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, unique = set(), []
    for js in scripts:
        attributes = getattr(js, "attributes", {})
        key = (getattr(js, "filename", js) or "", tuple(sorted(attributes.items())))
        if key not in seen:
            seen.add(key)
            unique.append(js)
    scripts[:] = unique


def setup(app):
    app.connect("html-page-context", _drop_duplicate_scripts)
    return {"parallel_read_safe": True, "parallel_write_safe": True}

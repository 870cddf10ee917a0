"""The app's keyboard: one listener for the page, keys mapped to actions per view.

Keys never reach Streamlit or a widget as actions while the reviewer is typing: a key
pressed in an input, a text area or an open select box is left to it, and Esc takes the
focus out of it so the next key is an action again.
"""

from __future__ import annotations

import streamlit as st

_JS = """
export default function (component) {
  const { data, setTriggerValue } = component;
  const typing = (node) =>
    node && (node.tagName === "INPUT" || node.tagName === "TEXTAREA" ||
             node.tagName === "SELECT" || node.isContentEditable);
  const handler = (event) => {
    const target = event.target;
    if (event.key === "Escape") {
      if (typing(document.activeElement)) {
        document.activeElement.blur();
        event.preventDefault();
        event.stopImmediatePropagation();
      }
      return;
    }
    if (typing(target) || event.ctrlKey || event.metaKey || event.altKey) return;
    const key = event.key.length === 1 ? event.key.toLowerCase() : event.key;
    if (data.focus && key === data.focus.key) {
      const input = document.querySelector(data.focus.selector);
      if (input) { input.focus(); input.select(); }
      event.preventDefault();
      event.stopImmediatePropagation();
      return;
    }
    const action = data.map[key];
    if (action === undefined) return;
    event.preventDefault();
    event.stopImmediatePropagation();
    setTriggerValue("pressed", { action: action, cursor: window.goujiCursor || null,
                                 at: Date.now() });
  };
  if (window.goujiKeys) window.removeEventListener("keydown", window.goujiKeys, true);
  window.goujiKeys = handler;
  window.addEventListener("keydown", handler, true);
  return () => {
    window.removeEventListener("keydown", handler, true);
    if (window.goujiKeys === handler) window.goujiKeys = null;
  };
}
"""

_keyboard = st.components.v2.component("gouji_keys", js=_JS)


def keyboard(actions: dict[str, str], focus: tuple[str, str] | None = None):
    """Listen for ``actions`` (key → action name); returns ``(action, cursor)`` in the run a
    key started (``cursor`` is the document view's selected cell), else ``None``. ``focus``
    is a key and the CSS selector of the input that key moves the focus into."""
    data = {"map": actions, "focus": {"key": focus[0], "selector": focus[1]} if focus else None}
    result = _keyboard(key="keys", data=data, on_pressed_change=lambda: None, height=0)
    event = result.get("pressed")
    return (event["action"], event.get("cursor")) if event else None

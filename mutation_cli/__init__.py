"""Operator commands for the AppSync mutation worker: ``replay``, ``send`` and ``doctor``.

Run by people (or scripts) outside Lambda, with the worker's own configuration, credentials, envelope
validation and classification; only the terminal output and the ``send`` transport (requests) are this
package's own. The Lambda handler never imports it: requests, requests-aws4auth and rich stay out of the
function's cold start.
"""

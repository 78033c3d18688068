"""Job Gateway: one GraphQL connection over the DevRev and DocuRift job APIs."""

__version__ = "0.1.0"

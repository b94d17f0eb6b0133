"""The approvals tables, one module per aggregate (Indico's layout)."""

from approvals.models.audit import AuditEvent, AuditHead, Notification
from approvals.models.catalogue import Category, Supplier
from approvals.models.clients import (
    Client,
    ClientStatus,
    ClientStatusChange,
    Need,
    NeedDomain,
    NeedStatus,
)
from approvals.models.consortium import CapMode, Consortium, Organisation, OrgKind
from approvals.models.people import Delegation, Membership, Role, SignInFailure, User
from approvals.models.policy import ApprovalPolicy, PolicyRule, PolicyStatus, PolicyStep
from approvals.models.requests import (
    Attachment,
    Decision,
    FundRequest,
    Payment,
    Refund,
    RequestException,
    RequestStep,
    StepApprover,
    StepStatus,
)
from approvals.models.tokens import ApiToken, IdempotentRequest, TokenKind

__all__ = [
    "ApiToken",
    "ApprovalPolicy",
    "Attachment",
    "AuditEvent",
    "AuditHead",
    "CapMode",
    "Category",
    "Client",
    "ClientStatus",
    "ClientStatusChange",
    "Consortium",
    "Decision",
    "Delegation",
    "FundRequest",
    "IdempotentRequest",
    "Membership",
    "Need",
    "NeedDomain",
    "NeedStatus",
    "Notification",
    "OrgKind",
    "Organisation",
    "Payment",
    "PolicyRule",
    "PolicyStatus",
    "PolicyStep",
    "Refund",
    "RequestException",
    "RequestStep",
    "Role",
    "SignInFailure",
    "StepApprover",
    "StepStatus",
    "Supplier",
    "TokenKind",
    "User",
]

"""The states and kinds of CRM records, named as the manuals name them."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class ContactStatus(models.TextChoices):
    ACTIVE = "active", _("Active")  # buys and is integrated with the ERP
    INACTIVE = "inactive", _("Inactive")  # known to the ERP, no longer buying
    NOT_INTEGRATED = "not_integrated", _("Not integrated with ERP")  # CRM-only account
    REJECTED = "rejected", _("Rejected")  # approached without success: goes to suppression list


class ContactKind(models.TextChoices):
    PERSON = "person", _("Person")  # an individual customer
    COMPANY = "company", _("Company")  # an organization account


class ClassTransitionTrigger(models.TextChoices):
    # accumulated purchases within the last N months reach at least the amount
    PURCHASES_AT_LEAST = "purchases_at_least", _("Accumulated purchases at least")
    # no purchase at all within the last N months
    NO_PURCHASE_FOR = "no_purchase_for", _("No purchase for")


class LeadState(models.TextChoices):
    NEW = "new", _("New")  # just captured
    CONTACTED = "contacted", _("Contacted")  # a first touch happened
    NURTURE = "nurture", _("Nurture")  # in the drip sequence of templates
    QUALIFIED = "qualified", _("Qualified")  # ready for an opportunity
    CONVERTED = "converted", _("Converted")  # became a contact / opportunity
    CLOSED_INACTIVE = "closed_inactive", _("Closed due to inactivity")  # sequence ran out


class OpportunityStage(models.TextChoices):
    PROSPECTING = "prospecting", _("Prospecting")  # first conversations
    PROPOSAL = "proposal", _("Proposal")  # a quotation was sent
    NEGOTIATION = "negotiation", _("Negotiation")  # terms being agreed
    WON = "won", _("Won")  # closed with a sale
    LOST = "lost", _("Lost")  # closed without a sale


OPPORTUNITY_CLOSED = (OpportunityStage.WON, OpportunityStage.LOST)


class JobState(models.TextChoices):
    OPEN = "open", _("Open")  # waiting to be worked on
    IN_PROGRESS = "in_progress", _("In progress")  # someone is on it
    DONE = "done", _("Done")  # finished
    CANCELLED = "cancelled", _("Cancelled")  # will not be done


JOB_OPEN_STATES = (JobState.OPEN, JobState.IN_PROGRESS)


class ActionKind(models.TextChoices):
    CALL = "call", _("Call")  # a phone call
    MEETING = "meeting", _("Meeting")  # a meeting
    EMAIL = "email", _("E-mail")  # an e-mail to follow up
    VISIT = "visit", _("Visit")  # an on-site visit
    NOTE = "note", _("Note")  # a note to self


class DeviceState(models.TextChoices):
    IN_STOCK = "in_stock", _("In stock")  # in a warehouse
    INSTALLED = "installed", _("Installed")  # at a customer
    RETURNED = "returned", _("Returned")  # back from a customer
    SCRAPPED = "scrapped", _("Scrapped")  # out of use


class VoucherState(models.TextChoices):
    CREATED = "created", _("Created")  # issued, not yet usable
    ACTIVE = "active", _("Active")  # usable
    REDEEMED = "redeemed", _("Redeemed")  # used
    CANCELLED = "cancelled", _("Cancelled")  # withdrawn
    EXPIRED = "expired", _("Expired")  # past its validity


class PaymentGatewayRequestState(models.TextChoices):
    PENDING = "pending", _("Pending")  # sent, no answer yet
    SUCCESSFUL = "successful", _("Successful")  # the gateway accepted it
    FAILED = "failed", _("Failed")  # the gateway refused it
    CANCELLED = "cancelled", _("Cancelled")  # withdrawn before an answer


class CustomerEventKind(models.TextChoices):
    PURCHASE = "purchase", _("Purchase")  # the customer bought something
    SPEND_REQUEST = "spend_request", _("Spend request")  # the customer spends rewards
    REFERRAL = "referral", _("Referral")  # the customer referred someone
    ACHIEVEMENT = "achievement", _("Achievement")  # the customer reached a goal
    FINANCIAL_STATEMENT = "financial_statement", _("Financial statement")  # a statement issued


class ProvisioningRequestState(models.TextChoices):
    PENDING = "pending", _("Pending")  # waiting for the provisioning system
    COMPLETED = "completed", _("Completed")  # applied on the device/service
    FAILED = "failed", _("Failed")  # the provisioning system refused it


class SubscriptionState(models.TextChoices):
    DRAFT = "draft", _("Draft")  # being set up
    EFFECTIVE = "effective", _("Effective")  # active, billed
    # temporarily deactivated until short_term_end_date, then re-activated automatically
    SHORT_TERM_NOT_EFFECTIVE = "short_term_not_effective", _("Short term not effective")
    NOT_EFFECTIVE = "not_effective", _("Not effective")  # deactivated
    CANCELLED = "cancelled", _("Cancelled")  # ended for good


class BillingFrequency(models.TextChoices):
    MONTHLY = "monthly", _("Monthly")  # every month
    BIMONTHLY = "bimonthly", _("Every two months")  # every 2 months
    QUARTERLY = "quarterly", _("Quarterly")  # every 3 months
    SEMI_ANNUALLY = "semi_annually", _("Semi-annually")  # every 6 months
    ANNUALLY = "annually", _("Annually")  # every year


class BindingState(models.TextChoices):
    IN_BINDING = "in_binding", _("In binding")  # inside a contractual commitment period
    OUT_OF_BINDING = "out_of_binding", _("Out of binding")  # free of commitment


class BehaviourCode(models.TextChoices):
    ACTIVATE = "activate", _("Activate subscription")  # makes it effective
    DEACTIVATE = "deactivate", _("Deactivate subscription")  # makes it not effective
    SHORT_TERM_DEACTIVATE = "short_term_deactivate", _("Short term deactivate subscription")
    # ends a short term deactivation period before its end date
    END_SHORT_TERM_DEACTIVATION = "end_short_term_deactivation", _("End short term deactivation")
    CANCEL = "cancel", _("Cancel subscription")  # ends it for good


class InvoiceState(models.TextChoices):
    POSTED = "posted", _("Posted")  # issued; may carry a balance
    SETTLED = "settled", _("Settled")  # nothing left to pay
    CANCELLED = "cancelled", _("Cancelled")  # voided


class NotificationKind(models.TextChoices):
    # from the sales process rules: the user must attend to it to keep using the CRM
    BLOCKING = "blocking", _("Blocking")
    NON_BLOCKING = "non_blocking", _("Non-blocking")  # a reminder


class NotificationState(models.TextChoices):
    OPEN = "open", _("Open")  # not attended to yet
    ATTENDED = "attended", _("Attended")  # the user dealt with it
    RELEASED = "released", _("Released")  # an administrator lifted it

from app.kit.errors import InvalidInput, NotFound


class CreditNoteInvalid(InvalidInput):
    """A credit note asked for more than was delivered, or for a SKU the invoice does not bill;
    ``detail["lines"]`` names every such line at once."""

    code = "credit_note_invalid"
    message = "红字结算单的数量有误：只能冲减本结算单上已送达的商品和数量"


class InvoiceNotFound(NotFound):
    code = "invoice_not_found"
    message = "找不到该结算单"

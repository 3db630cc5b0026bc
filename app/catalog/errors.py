from app.kit.errors import AppError, Conflict, Forbidden, InvalidInput, NotFound


class CategoryNotFound(NotFound):
    code = "category_not_found"
    message = "找不到该分类"


class ProductNotFound(NotFound):
    code = "product_not_found"
    message = "找不到该商品"


class VariantNotFound(NotFound):
    code = "variant_not_found"
    message = "找不到该规格（SKU）"


class PriceListNotFound(NotFound):
    code = "price_list_not_found"
    message = "找不到该价目表"


class ImageNotFound(NotFound):
    code = "image_not_found"
    message = "找不到该图片"


class SlugTaken(Conflict):
    code = "slug_taken"
    message = "该标识（slug）已被使用"


class SkuTaken(Conflict):
    code = "sku_taken"
    message = "该 SKU 编码已被使用"


class BarcodeTaken(Conflict):
    code = "barcode_taken"
    message = "该条码已被其他 SKU 使用"


class PluTaken(Conflict):
    code = "plu_taken"
    message = "该 PLU 编号已被其他 SKU 使用"


class InvalidBarcode(InvalidInput):
    code = "invalid_barcode"
    message = "条码不是有效的 EAN-13（13 位数字且校验位正确）"


class InvalidTiers(InvalidInput):
    code = "invalid_tiers"
    message = "阶梯价设置有误：起订量须递增，单价不得高于上一档"


class InvalidImage(InvalidInput):
    code = "invalid_image"
    message = "图片格式不支持，仅接受 JPEG、PNG、WebP"


class ImageTooLarge(AppError):
    code = "image_too_large"
    status_code = 413
    message = "图片过大"


class PricingError(AppError):
    """One or more order lines cannot be priced; ``detail`` names every bad line."""

    status_code = 422


class UnknownSku(PricingError):
    code = "unknown_sku"
    message = "SKU 不存在或已下架"


class NotForSale(PricingError):
    code = "not_for_sale"
    message = "该 SKU 在此渠道没有售价"


class QuantityNotPositive(PricingError):
    code = "quantity_not_positive"
    message = "数量必须大于 0"


class InvalidQuantity(PricingError):
    code = "invalid_quantity"
    message = "数量格式不正确"


class BelowMinimumOrder(PricingError):
    code = "below_minimum_order"
    message = "低于最小起订量"


class QuantityNotInIncrement(PricingError):
    code = "quantity_not_in_increment"
    message = "数量须为订购倍数的整数倍"


class AboveLineMaximum(PricingError):
    """More of one item than a consumer order line may hold (``CART_MAX_LINE_QUANTITY``)."""

    code = "quantity_above_line_maximum"
    message = "超过每单每种商品的最大数量"


class WholesaleBuyersOnly(Forbidden):
    code = "wholesale_buyers_only"
    message = "批发报价仅对已审核的采购商开放"

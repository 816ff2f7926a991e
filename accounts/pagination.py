from rest_framework.pagination import PageNumberPagination


class Pagination(PageNumberPagination):
    """`?page=N`, and `?page_size=N` up to a cap so one request cannot pull the whole table."""

    page_size_query_param = "page_size"
    max_page_size = 200

import django
from django.conf import settings
from django.http import HttpResponse
from django.urls import path


def index(request):
    collected = (settings.STATIC_ROOT / "admin" / "css" / "base.css").is_file()
    return HttpResponse(
        f"python-django: Django {django.get_version()} under gunicorn; "
        f"collectstatic ran: {'yes' if collected else 'no'}\n",
        content_type="text/plain",
    )


urlpatterns = [path("", index)]

"""The Archives screen: archives listed with filters; download, delete and restore, each
asking for the password again."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from nightshift.archiving import actions
from nightshift.archiving.choices import ArchiveState
from nightshift.archiving.models import Archive
from nightshift.archiving.registry import all_entities

PAGE_SIZE = 50


class ArchiveFilterForm(forms.Form):
    entity = forms.ChoiceField(label=gettext_lazy("Data archiving entity"), required=False)
    state = forms.ChoiceField(label=gettext_lazy("State"), required=False)
    archived_from = forms.DateField(
        label=gettext_lazy("Archived from"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    archived_to = forms.DateField(
        label=gettext_lazy("Archived to"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        every = [("", _("All"))]
        self.fields["entity"].choices = every + [(e.key, e.label) for e in all_entities()]
        self.fields["state"].choices = every + list(ArchiveState.choices)

    def filter(self, archives):
        if not self.is_valid():
            return archives
        data = self.cleaned_data
        if data["entity"]:
            archives = archives.filter(entity=data["entity"])
        if data["state"]:
            archives = archives.filter(state=data["state"])
        if data["archived_from"]:
            archives = archives.filter(created_at__date__gte=data["archived_from"])
        if data["archived_to"]:
            archives = archives.filter(created_at__date__lte=data["archived_to"])
        return archives


@login_required
@permission_required("archiving.view_archive", raise_exception=True)
@require_GET
def archive_list(request: HttpRequest) -> HttpResponse:
    Archive.settle()
    form = ArchiveFilterForm(request.GET)
    archives = form.filter(Archive.objects.select_related("created_by")).order_by(
        "-created_at", "-pk"
    )
    page = Paginator(archives, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "archiving/archive_list.html",
        {
            "form": form,
            "archives": page,
            "page": page,
            "query": query.urlencode(),
            "can_manage": request.user.has_perm(actions.ARCHIVE),
        },
    )


def _refused(request: HttpRequest, message: str, error: Exception) -> HttpResponse:
    reason = " ".join(error.messages) if isinstance(error, ValidationError) else str(error)
    messages.error(request, message % {"reason": reason})
    return redirect("archiving:archives")


@login_required
@require_POST
def archive_download(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        archive, stream = actions.download_archive(
            user=request.user, archive_id=pk, password=request.POST.get("password"), channel="web"
        )
    except ObjectDoesNotExist as exc:
        raise Http404(str(exc)) from None
    except (ValidationError, PermissionDenied) as exc:
        return _refused(request, _("The archive was not downloaded: %(reason)s"), exc)
    response = StreamingHttpResponse(stream, content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="archive-{archive.pk}.zip"'
    return response


@login_required
@require_POST
def archive_delete(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        archive = actions.delete_archive(
            user=request.user, archive_id=pk, password=request.POST.get("password"), channel="web"
        )
    except ObjectDoesNotExist as exc:
        raise Http404(str(exc)) from None
    except (ValidationError, PermissionDenied) as exc:
        return _refused(request, _("The archive was not deleted: %(reason)s"), exc)
    messages.success(request, _("Archive #%(id)s was deleted.") % {"id": archive.pk})
    return redirect("archiving:archives")


@login_required
@require_POST
def archive_restore(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        archive = actions.restore_archive(
            user=request.user, archive_id=pk, password=request.POST.get("password"), channel="web"
        )
    except ObjectDoesNotExist as exc:
        raise Http404(str(exc)) from None
    except (ValidationError, PermissionDenied) as exc:
        return _refused(request, _("The archive was not restored: %(reason)s"), exc)
    if archive.restore_report:
        messages.warning(
            request,
            _("Archive #%(id)s was restored but for %(count)s rows: %(rows)s")
            % {
                "id": archive.pk,
                "count": len(archive.restore_report),
                "rows": "; ".join(
                    f"{c['model']} {c['id']}: {c['message']}" for c in archive.restore_report[:20]
                ),
            },
        )
    else:
        messages.success(request, _("Archive #%(id)s was restored.") % {"id": archive.pk})
    return redirect("archiving:archives")

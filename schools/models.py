"""The organisation tree (bureau → district → township/学区 → school), designations and roles."""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.db import models
from django.db.models import Q, Value
from django.db.models.functions import Concat, Substr
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext

# Materialized path: each node's path is its ancestors' ids and its own, zero-padded and
# dot-terminated ("0000001.0000042."). Subtree = one `LIKE 'path%'` on an indexed column;
# ancestors = one `path IN (...)` with the prefixes computed from the string itself.
PATH_SEGMENT_WIDTH = 7


def path_segment(pk: int) -> str:
    return f"{pk:0{PATH_SEGMENT_WIDTH}d}."


def ancestor_paths(path: str) -> list[str]:
    """All prefixes of ``path`` that are node paths, root first, the node itself last."""
    step = PATH_SEGMENT_WIDTH + 1
    return [path[: i + step] for i in range(0, len(path), step)]


class Level(models.TextChoices):
    BUREAU = "bureau", _("教育局")
    DISTRICT = "district", _("区县")
    TOWNSHIP = "township", _("乡镇/学区")
    SCHOOL = "school", _("学校/幼儿园")


class SchoolType(models.TextChoices):
    KINDERGARTEN = "kindergarten", _("幼儿园")
    PRIMARY = "primary", _("小学")
    JUNIOR = "junior", _("初中")
    NINE_YEAR = "nine_year", _("九年一贯制学校")
    COMPLETE_SECONDARY = "complete_secondary", _("完全中学")
    SENIOR = "senior", _("高中")
    SPECIAL = "special", _("特殊教育学校")
    TEACHING_POINT = "teaching_point", _("教学点")
    VOCATIONAL = "vocational", _("中职学校")
    HIGHER_EDUCATION = "higher_education", _("高等学校")
    COMMUNITY_EDUCATION = "community_education", _("社区教育中心/基地")
    OUT_OF_SCHOOL = "out_of_school", _("校外教育机构")


class Stage(models.TextChoices):
    """A school stage (学段) a figure may belong to: a 九年一贯制 school reports its 小学部 and 初中部 apart."""

    NONE = "", _("不分学段")
    PRIMARY = "primary", _("小学")
    JUNIOR = "junior", _("初中")


# Which school types have a part of each stage (the one place): single-stage schools are all of it, the
# others (九年一贯制; 完全中学 with its 初中部) report a stage figure for that part only.
STAGE_SCHOOL_TYPES: dict[str, tuple[str, ...]] = {
    Stage.PRIMARY: (SchoolType.PRIMARY, SchoolType.TEACHING_POINT, SchoolType.NINE_YEAR),
    Stage.JUNIOR: (SchoolType.JUNIOR, SchoolType.COMPLETE_SECONDARY, SchoolType.NINE_YEAR),
}
SINGLE_STAGE_TYPES: dict[str, tuple[str, ...]] = {
    Stage.PRIMARY: (SchoolType.PRIMARY, SchoolType.TEACHING_POINT),
    Stage.JUNIOR: (SchoolType.JUNIOR,),
}
PART_LABELS = {Stage.PRIMARY: _("小学部"), Stage.JUNIOR: _("初中部")}


def stage_unit_name(name: str, school_type: str, stage: str) -> str:
    """A school as one unit of a stage: "XX学校（小学部）" for the part of a school spanning several stages, else
    its name."""
    if stage not in PART_LABELS or school_type in SINGLE_STAGE_TYPES[stage]:
        return name
    return str(_("{school}（{part}）")).format(school=name, part=PART_LABELS[stage])


class Ownership(models.TextChoices):
    PUBLIC = "public", _("公办")
    INCLUSIVE_PRIVATE = "inclusive_private", _("普惠性民办")
    PRIVATE = "private", _("民办")


def choice_labels(choices: type[models.TextChoices], codes: Iterable[str]) -> list[str]:
    """The labels of stored choice codes (a JSON list such as ``["primary", "nine_year"]``), in the page's
    language; a code no longer among the choices is shown as stored rather than dropped."""
    labels = dict(choices.choices)
    return [str(labels.get(code, code)) for code in codes or ()]


def describe_units(
    levels: Iterable[str] = (),
    school_types: Iterable[str] = (),
    ownership: Iterable[str] = (),
    central_only: bool = False,
) -> str:
    """Which units something applies to, in words: "小学、九年一贯制学校（仅中心校）", never the codes."""
    parts = choice_labels(Level, levels) + choice_labels(SchoolType, school_types) + choice_labels(Ownership, ownership)
    text = pgettext("list separator", "、").join(parts)
    if central_only:
        text = _("{units}（仅中心校）").format(units=text) if text else str(_("仅中心校"))
    return text


class OrgUnitQuerySet(models.QuerySet["OrgUnit"]):
    def subtree_of(self, unit: OrgUnit, include_self: bool = True) -> OrgUnitQuerySet:
        qs = self.filter(path__startswith=unit.path)
        return qs if include_self else qs.exclude(pk=unit.pk)

    def subtrees_of(self, paths: Iterable[str]) -> OrgUnitQuerySet:
        """Union of several subtrees in one query (a user with roles on several units)."""
        condition = Q(pk__in=[])
        for path in paths:
            condition |= Q(path__startswith=path)
        return self.filter(condition)

    def ancestors_of(self, unit: OrgUnit, include_self: bool = True) -> OrgUnitQuerySet:
        paths = ancestor_paths(unit.path)
        if not include_self:
            paths = paths[:-1]
        return self.filter(path__in=paths).order_by("depth")

    def root_of(self, unit: OrgUnit) -> OrgUnit:
        """The top of ``unit``'s tree (the bureau a district's or a school's documents are issued by)."""
        return self.ancestors_of(unit).first() or unit

    def schools(self) -> OrgUnitQuerySet:
        return self.filter(level=Level.SCHOOL)


class OrgUnit(models.Model):
    """A node of the education organisation tree: the bureau, a district, a township/学区 or a school."""

    code = models.CharField(_("代码"), max_length=40, unique=True)
    name = models.CharField(_("名称"), max_length=200)
    name_en = models.CharField(_("英文名称"), max_length=200, blank=True)
    level = models.CharField(_("层级"), max_length=20, choices=Level.choices)
    school_type = models.CharField(_("学校类型"), max_length=30, choices=SchoolType.choices, blank=True)
    ownership = models.CharField(_("办学性质"), max_length=30, choices=Ownership.choices, blank=True)
    is_central = models.BooleanField(_("中心校"), default=False, help_text=_("中心小学，统筹一个片区"))
    is_active = models.BooleanField(_("在办"), default=True)
    opened_on = models.DateField(_("建校日期"), null=True, blank=True, help_text=_("新建单位按此日期计入当年"))
    closed_on = models.DateField(_("撤并日期"), null=True, blank=True)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("上级单位"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )
    path = models.CharField(_("路径"), max_length=255, editable=False, default="")
    depth = models.PositiveSmallIntegerField(_("深度"), editable=False, default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = OrgUnitQuerySet.as_manager()

    class Meta:
        verbose_name = _("组织单位")
        verbose_name_plural = _("组织单位")
        ordering = ["path"]
        indexes = [
            # Serves subtree (`path LIKE 'p%'`) and ancestor (`path IN (...)`) queries.
            models.Index(fields=["path"], name="schools_orgunit_path", opclasses=["varchar_pattern_ops"]),
            models.Index(fields=["level", "school_type"], name="schools_orgunit_level_type"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(level="school") | Q(school_type=""),
                name="schools_orgunit_type_only_for_schools",
                violation_error_message=_("只有学校/幼儿园有学校类型"),
            ),
            models.CheckConstraint(
                condition=Q(opened_on__isnull=True)
                | Q(closed_on__isnull=True)
                | Q(closed_on__gte=models.F("opened_on")),
                name="schools_orgunit_closed_after_opened",
                violation_error_message=_("撤并日期不能早于建校日期"),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("reports:unit_detail", kwargs={"code": self.code})

    def save(self, *args: object, **kwargs: object) -> None:
        if self.parent_id is not None and self.parent is not None and self.parent.path == "":
            raise ValueError("parent has no path; save it first")
        if self.pk is None:
            super().save(*args, **kwargs)
            kwargs = {}
        if self.parent_id and self.pk in self._parent_ids():
            raise ValueError("an org unit cannot be its own ancestor")
        new_path = (self.parent.path if self.parent_id else "") + path_segment(self.pk)
        if new_path != self.path:
            old_path = self.path
            self.path = new_path
            self.depth = len(new_path) // (PATH_SEGMENT_WIDTH + 1) - 1
            if old_path:
                self._move_descendants(old_path, new_path)
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    def _parent_ids(self) -> set[int]:
        if not self.parent_id or not self.parent.path:
            return set()
        return {int(segment) for segment in self.parent.path.rstrip(".").split(".")}

    def _move_descendants(self, old_path: str, new_path: str) -> None:
        # Rare (a school moves to another 学区); rewrite the prefix of every descendant in one query.
        shift = len(new_path) - len(old_path)
        OrgUnit.objects.filter(path__startswith=old_path).exclude(pk=self.pk).update(
            path=Concat(Value(new_path), Substr("path", len(old_path) + 1)),
            depth=models.F("depth") + shift // (PATH_SEGMENT_WIDTH + 1),
        )

    @property
    def ancestor_ids(self) -> list[int]:
        return [int(segment) for segment in self.path.rstrip(".").split(".") if segment]

    def is_descendant_of(self, other: OrgUnit) -> bool:
        return self.path.startswith(other.path)


class DesignationKind(models.Model):
    """A kind of award or status a unit can be granted (标准化幼儿园, 示范幼儿园 …); data, not code."""

    code = models.SlugField(_("代码"), max_length=60, unique=True)
    name = models.CharField(_("名称"), max_length=200)
    name_en = models.CharField(_("英文名称"), max_length=200, blank=True)
    # The levels at which this kind is awarded (国家/省/市/县); empty: any level. A grant's level must be one of them.
    levels = models.JSONField(_("认定级别"), default=list, blank=True)

    class Meta:
        verbose_name = _("认定类别")
        verbose_name_plural = _("认定类别")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name

    @property
    def level_labels(self) -> list[str]:
        """The levels it is awarded at, in words (国家级、省级); [] for any level."""
        return choice_labels(DesignationLevel, self.levels)


class DesignationLevel(models.TextChoices):
    NATIONAL = "national", _("国家级")
    PROVINCE = "province", _("省级")
    CITY = "city", _("市级")
    COUNTY = "county", _("县级")


class Designation(models.Model):
    """An award or status held by a unit from ``granted_on`` until ``revoked_on`` (if ever)."""

    org_unit = models.ForeignKey(OrgUnit, verbose_name=_("单位"), on_delete=models.CASCADE, related_name="designations")
    kind = models.ForeignKey(DesignationKind, verbose_name=_("类别"), on_delete=models.PROTECT, related_name="+")
    level = models.CharField(_("级别"), max_length=20, choices=DesignationLevel.choices, blank=True)
    granted_on = models.DateField(_("认定日期"))
    revoked_on = models.DateField(_("撤销日期"), null=True, blank=True)
    evidence = models.FileField(_("证明材料"), upload_to="designations/%Y/", blank=True)
    note = models.CharField(_("备注"), max_length=500, blank=True)
    revoke_evidence = models.FileField(_("撤销依据"), upload_to="designations/%Y/", blank=True)
    revoke_note = models.CharField(_("撤销说明"), max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("认定")
        verbose_name_plural = _("认定")
        ordering = ["-granted_on", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["org_unit", "kind", "granted_on"],
                name="schools_designation_unique_grant",
                violation_error_message=_("该单位在同一日期已有同类认定"),
            ),
            models.CheckConstraint(
                condition=Q(revoked_on__isnull=True) | Q(revoked_on__gte=models.F("granted_on")),
                name="schools_designation_revoked_after_granted",
                violation_error_message=_("撤销日期不能早于认定日期"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.org_unit} · {self.kind}"


class Role(models.TextChoices):
    BUREAU_ADMIN = "bureau_admin", _("教育局管理员")
    REVIEWER = "reviewer", _("审核员")
    PRINCIPAL = "principal", _("校长/园长")
    INSPECTOR = "inspector", _("督学")


class Membership(models.Model):
    """A user's role on an org unit; the role covers the unit's whole subtree."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    org_unit = models.ForeignKey(OrgUnit, verbose_name=_("单位"), on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(_("角色"), max_length=20, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("成员角色")
        verbose_name_plural = _("成员角色")
        ordering = ["user", "org_unit", "role"]
        constraints = [
            models.UniqueConstraint(fields=["user", "org_unit", "role"], name="schools_membership_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.get_role_display()} · {self.org_unit}"

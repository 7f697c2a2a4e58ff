"""The order of fields in a data set struct: the most common attributes
first (identification, patient, study, series, instance, image), then the
rest in tag order, private attributes last."""

from __future__ import annotations

from ..dictionary import tag_for_keyword

COMMON_KEYWORDS = (
    # identification
    "StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID", "SOPClassUID",
    "SpecificCharacterSet",
    # patient
    "PatientName", "PatientID", "PatientBirthDate", "PatientSex",
    # study
    "StudyDescription", "AccessionNumber", "StudyID", "StudyDate", "StudyTime",
    # series
    "SeriesDescription", "SeriesNumber", "Modality", "SeriesDate", "SeriesTime",
    # instance
    "InstanceNumber", "AcquisitionNumber", "InstanceCreationDate", "InstanceCreationTime",
    "ContentDate", "ContentTime",
    # image
    "Rows", "Columns", "BitsAllocated", "BitsStored", "HighBit", "PixelRepresentation",
    "SamplesPerPixel", "PhotometricInterpretation", "NumberOfFrames", "TransferSyntaxUID",
)

_RANK = {tag_for_keyword(k): i for i, k in enumerate(COMMON_KEYWORDS)}
_REST = len(COMMON_KEYWORDS)


def sort_key(tag: int) -> int:
    """Sort key of a tag: common ones by rank, then standard by tag, then
    private (one int: the private bit, the rank, the tag)."""
    return ((tag & 0x10000) << 24) | (_RANK.get(tag, _REST) << 32) | tag

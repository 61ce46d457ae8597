"""Common Transfer Files for tests, written out element by element in the schema's names
(not by the writer under test), so a test reads a file as another school's MIS sends it."""

from tests.mis.factories import make_upn

VERSION = "25.0"


def pupil_xml(
    upn: str,
    *,
    surname: str = "Ashworth",
    forename: str = "Evie",
    preferred: str = "Evie",
    dob: str = "2016-05-02",
    sex: str = "F",
    nc_year: str = "4",
    extra: str = "",
) -> str:
    return f"""
    <Pupil>
      <UPN>{upn}</UPN>
      <Surname>{surname}</Surname>
      <Forename>{forename}</Forename>
      <DOB>{dob}</DOB>
      <Sex>{sex}</Sex>
      <BasicDetails>
        <PreferredForename>{preferred}</PreferredForename>
        <NCyearActual>{nc_year}</NCyearActual>
      </BasicDetails>
      <Addresses>
        <Address>
          <BS7666Address>
            <SAON>Flat 2</SAON>
            <PAON>14</PAON>
            <Street>Mill Lane</Street>
            <Locality>Headingley</Locality>
            <Town>Leeds</Town>
            <AdministrativeArea>West Yorkshire</AdministrativeArea>
            <PostTown>Leeds</PostTown>
          </BS7666Address>
          <Postcode>LS6 3AB</Postcode>
        </Address>
      </Addresses>
      <Attendance>
        <YearData>
          <Year>2025</Year>
          <SchoolName>Kirkstall Infant School</SchoolName>
          <LEA>383</LEA>
          <Estab>2999</Estab>
          <SessionsPossible>380</SessionsPossible>
          <SessionsAuthorised>12</SessionsAuthorised>
          <SessionsUnauthorised>4</SessionsUnauthorised>
        </YearData>
      </Attendance>
      <FSMhistory>
        <FSMinstance>
          <FSMstartDate>2024-01-08</FSMstartDate>
          <UKcountry>ENG</UKcountry>
        </FSMinstance>
      </FSMhistory>
      <SENhistory>
        <SEN>
          <StartDate>2025-02-03</StartDate>
          <SENprovision>K</SENprovision>
        </SEN>
      </SENhistory>
      {extra}
    </Pupil>"""


def ctf_xml(pupils: str, *, version: str = VERSION, prolog: str = "") -> str:
    return f"""<?xml version="1.0" encoding="UTF-8"?>{prolog}
<CTfile>
  <Header>
    <DocumentName>Common Transfer File</DocumentName>
    <CTFversion>{version}</CTFversion>
    <DateTime>2026-12-07T15:30:00</DateTime>
    <DocumentQualifier>partial</DocumentQualifier>
    <SupplierID>Another MIS</SupplierID>
    <SourceSchool>
      <LEA>383</LEA>
      <Estab>2999</Estab>
      <SchoolName>Kirkstall Infant School</SchoolName>
      <AcademicYear>2026</AcademicYear>
    </SourceSchool>
    <DestSchool>
      <LEA>383</LEA>
      <Estab>2001</Estab>
    </DestSchool>
  </Header>
  <CTFpupilData>{pupils}
  </CTFpupilData>
</CTfile>
"""


def valid_ctf(count: int = 2, *, establishment: str = "2999") -> tuple[bytes, list[str]]:
    upns = [make_upn("383", establishment) for _ in range(count)]
    body = "".join(
        pupil_xml(upn, surname=f"Ashworth{i}", forename=f"Evie{i}", preferred=f"Evie{i}")
        for i, upn in enumerate(upns)
    )
    return ctf_xml(body).encode(), upns


def bad_check_letter(upn: str) -> str:
    letter = "B" if upn[0] != "B" else "C"
    return letter + upn[1:]

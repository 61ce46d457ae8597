"""Code lists and name parts for the generated register (``bench.register``).

The code lists (local authorities, establishment types, phases, statuses, regions) are the
ones the national register uses; school, trust, town and people's names are invented from
parts. Everything here is a tuple or a dict built from literals, so iterating it is the
same on every run.
"""

# The register's header line: its 140 columns, in the order of the official export.
HEADER = (
    "URN,LA (code),LA (name),EstablishmentNumber,EstablishmentName,"
    "TypeOfEstablishment (code),TypeOfEstablishment (name),EstablishmentTypeGroup (code),"
    "EstablishmentTypeGroup (name),EstablishmentStatus (code),EstablishmentStatus (name),"
    "ReasonEstablishmentOpened (code),ReasonEstablishmentOpened (name),OpenDate,"
    "ReasonEstablishmentClosed (code),ReasonEstablishmentClosed (name),CloseDate,"
    "PhaseOfEducation (code),PhaseOfEducation (name),StatutoryLowAge,StatutoryHighAge,"
    "Boarders (code),Boarders (name),NurseryProvision (name),OfficialSixthForm (code),"
    "OfficialSixthForm (name),Gender (code),Gender (name),ReligiousCharacter (code),"
    "ReligiousCharacter (name),ReligiousEthos (name),Diocese (code),Diocese (name),"
    "AdmissionsPolicy (code),AdmissionsPolicy (name),SchoolCapacity,SpecialClasses (code),"
    "SpecialClasses (name),CensusDate,NumberOfPupils,NumberOfBoys,NumberOfGirls,"
    "PercentageFSM,TrustSchoolFlag (code),TrustSchoolFlag (name),Trusts (code),Trusts (name),"
    "SchoolSponsorFlag (name),SchoolSponsors (name),FederationFlag (name),Federations (code),"
    "Federations (name),UKPRN,FEHEIdentifier,FurtherEducationType (name),OfstedLastInsp,"
    "OfstedSpecialMeasures (code),OfstedSpecialMeasures (name),LastChangedDate,Street,"
    "Locality,Address3,Town,County (name),Postcode,SchoolWebsite,TelephoneNum,"
    "HeadTitle (name),HeadFirstName,HeadLastName,HeadPreferredJobTitle,"
    "BSOInspectorateName (name),InspectorateReport,DateOfLastInspectionVisit,"
    "NextInspectionVisit,TeenMoth (name),TeenMothPlaces,CCF (name),SENPRU (name),EBD (name),"
    "PlacesPRU,FTProv (name),EdByOther (name),Section41Approved (name),SEN1 (name),"
    "SEN2 (name),SEN3 (name),SEN4 (name),SEN5 (name),SEN6 (name),SEN7 (name),SEN8 (name),"
    "SEN9 (name),SEN10 (name),SEN11 (name),SEN12 (name),SEN13 (name),"
    "TypeOfResourcedProvision (name),ResourcedProvisionOnRoll,ResourcedProvisionCapacity,"
    "SenUnitOnRoll,SenUnitCapacity,GOR (code),GOR (name),DistrictAdministrative (code),"
    "DistrictAdministrative (name),AdministrativeWard (code),AdministrativeWard (name),"
    "ParliamentaryConstituency (code),ParliamentaryConstituency (name),UrbanRural (code),"
    "UrbanRural (name),GSSLACode (name),Easting,Northing,MSOA (name),LSOA (name),"
    "InspectorateName (name),SENStat,SENNoStat,BoardingEstablishment (name),PropsName,"
    "PreviousLA (code),PreviousLA (name),PreviousEstablishmentNumber,OfstedRating (name),"
    "RSCRegion (name),Country (name),UPRN,SiteName,QABName (code),QABName (name),"
    "EstablishmentAccredited (code),EstablishmentAccredited (name),QABReport,CHNumber,"
    "MSOA (code),LSOA (code),FSM,AccreditationExpiryDate"
)
COLUMNS: tuple[str, ...] = tuple(HEADER.split(","))

STATUSES = {
    "1": "Open",
    "2": "Closed",
    "3": "Open, but proposed to close",
    "4": "Proposed to open",
}
CURRENT_STATUS_CODES = ("1", "3")

PHASES = {
    "0": "Not applicable",
    "1": "Nursery",
    "2": "Primary",
    "3": "Middle deemed primary",
    "4": "Secondary",
    "5": "Middle deemed secondary",
    "6": "16 plus",
    "7": "All-through",
}

TYPE_GROUPS = {
    "1": "Colleges",
    "2": "Universities",
    "3": "Independent schools",
    "4": "Local authority maintained schools",
    "5": "Special schools",
    "9": "Other types",
    "10": "Academies",
    "11": "Free Schools",
    "13": "Online provider",
}

# TypeOfEstablishment code: (name, EstablishmentTypeGroup code).
TYPES = {
    "1": ("Community school", "4"),
    "2": ("Voluntary aided school", "4"),
    "3": ("Voluntary controlled school", "4"),
    "5": ("Foundation school", "4"),
    "7": ("Community special school", "5"),
    "8": ("Non-maintained special school", "5"),
    "10": ("Other independent special school", "3"),
    "11": ("Other independent school", "3"),
    "12": ("Foundation special school", "5"),
    "14": ("Pupil referral unit", "4"),
    "15": ("Local authority nursery school", "4"),
    "18": ("Further education", "1"),
    "24": ("Secure units", "9"),
    "25": ("Offshore schools", "9"),
    "27": ("Miscellaneous", "9"),
    "28": ("Academy sponsor led", "10"),
    "29": ("Higher education institutions", "2"),
    "31": ("Sixth form centres", "1"),
    "32": ("Special post 16 institution", "1"),
    "33": ("Academy special sponsor led", "10"),
    "34": ("Academy converter", "10"),
    "35": ("Free schools", "11"),
    "36": ("Free schools special", "11"),
    "37": ("British schools overseas", "9"),
    "38": ("Free schools alternative provision", "11"),
    "39": ("Free schools 16 to 19", "11"),
    "40": ("University technical college", "11"),
    "41": ("Studio schools", "11"),
    "42": ("Academy alternative provision converter", "10"),
    "43": ("Academy alternative provision sponsor led", "10"),
    "44": ("Academy special converter", "10"),
    "45": ("Academy 16-19 converter", "10"),
    "46": ("Academy 16 to 19 sponsor led", "10"),
    "49": ("Online provider", "13"),
    "56": ("Institution funded by other government department", "9"),
}

# Which types a row of each kind gets, with weights.
ACADEMY_TYPES = (
    ("34", 60),
    ("28", 22),
    ("35", 7),
    ("44", 3),
    ("33", 1.5),
    ("36", 1),
    ("39", 1),
    ("40", 0.8),
    ("45", 0.7),
    ("41", 0.4),
    ("42", 0.5),
    ("43", 0.5),
    ("38", 0.5),
    ("46", 0.3),
)
NEW_ACADEMY_TYPES = (("35", 70), ("36", 10), ("39", 8), ("38", 6), ("40", 4), ("41", 2))
MAINTAINED_TYPES = (
    ("1", 50),
    ("2", 15),
    ("3", 12),
    ("5", 6),
    ("7", 6),
    ("12", 1),
    ("15", 5),
    ("14", 3),
)
OTHER_TYPES = (
    ("11", 58),
    ("10", 20),
    ("8", 2),
    ("18", 7),
    ("31", 2),
    ("32", 2),
    ("29", 2),
    ("49", 1),
    ("27", 1.5),
    ("24", 0.3),
    ("56", 0.3),
)
SPONSOR_LED_TYPES = ("28", "33", "43", "46")
SPECIAL_TYPES = ("7", "8", "10", "12", "33", "36", "44")
ALTERNATIVE_PROVISION_TYPES = ("14", "38", "42", "43")
POST_16_TYPES = ("31", "32", "39", "45", "46")
INDEPENDENT_TYPES = ("10", "11")
OVERSEAS_TYPES = (("37", 90), ("25", 10))
NO_CENSUS_TYPES = ("18", "24", "25", "27", "29", "37", "49", "56")

# Regions: GOR code, name, rough centre (easting, northing).
REGIONS = {
    "A": ("North East", 425000, 560000),
    "B": ("North West", 360000, 430000),
    "D": ("Yorkshire and the Humber", 440000, 445000),
    "E": ("East Midlands", 465000, 330000),
    "F": ("West Midlands", 390000, 290000),
    "G": ("East of England", 565000, 260000),
    "H": ("London", 530000, 180000),
    "J": ("South East", 500000, 140000),
    "K": ("South West", 300000, 100000),
    "Z": ("Not Applicable", 0, 0),
}

# Local authorities: code, name, region, kind (L London borough, M metropolitan district,
# U unitary, C county), relative size (about the number of current schools), county.
LOCAL_AUTHORITIES = (
    ("201", "City of London", "H", "L", 2, ""),
    ("202", "Camden", "H", "L", 60, ""),
    ("203", "Greenwich", "H", "L", 90, ""),
    ("204", "Hackney", "H", "L", 80, ""),
    ("205", "Hammersmith and Fulham", "H", "L", 55, ""),
    ("206", "Islington", "H", "L", 60, ""),
    ("207", "Kensington and Chelsea", "H", "L", 45, ""),
    ("208", "Lambeth", "H", "L", 80, ""),
    ("209", "Lewisham", "H", "L", 85, ""),
    ("210", "Southwark", "H", "L", 100, ""),
    ("211", "Tower Hamlets", "H", "L", 100, ""),
    ("212", "Wandsworth", "H", "L", 80, ""),
    ("213", "Westminster", "H", "L", 55, ""),
    ("301", "Barking and Dagenham", "H", "L", 65, ""),
    ("302", "Barnet", "H", "L", 140, ""),
    ("303", "Bexley", "H", "L", 75, ""),
    ("304", "Brent", "H", "L", 85, ""),
    ("305", "Bromley", "H", "L", 100, ""),
    ("306", "Croydon", "H", "L", 120, ""),
    ("307", "Ealing", "H", "L", 100, ""),
    ("308", "Enfield", "H", "L", 100, ""),
    ("309", "Haringey", "H", "L", 80, ""),
    ("310", "Harrow", "H", "L", 65, ""),
    ("311", "Havering", "H", "L", 85, ""),
    ("312", "Hillingdon", "H", "L", 100, ""),
    ("313", "Hounslow", "H", "L", 85, ""),
    ("314", "Kingston upon Thames", "H", "L", 50, ""),
    ("315", "Merton", "H", "L", 60, ""),
    ("316", "Newham", "H", "L", 100, ""),
    ("317", "Redbridge", "H", "L", 80, ""),
    ("318", "Richmond upon Thames", "H", "L", 65, ""),
    ("319", "Sutton", "H", "L", 60, ""),
    ("320", "Waltham Forest", "H", "L", 80, ""),
    ("330", "Birmingham", "F", "M", 450, "West Midlands"),
    ("331", "Coventry", "F", "M", 125, "West Midlands"),
    ("332", "Dudley", "F", "M", 110, "West Midlands"),
    ("333", "Sandwell", "F", "M", 120, "West Midlands"),
    ("334", "Solihull", "F", "M", 85, "West Midlands"),
    ("335", "Walsall", "F", "M", 115, "West Midlands"),
    ("336", "Wolverhampton", "F", "M", 110, "West Midlands"),
    ("340", "Knowsley", "B", "M", 65, "Merseyside"),
    ("341", "Liverpool", "B", "M", 180, "Merseyside"),
    ("342", "St. Helens", "B", "M", 70, "Merseyside"),
    ("343", "Sefton", "B", "M", 110, "Merseyside"),
    ("344", "Wirral", "B", "M", 125, "Merseyside"),
    ("350", "Bolton", "B", "M", 125, "Greater Manchester"),
    ("351", "Bury", "B", "M", 85, "Greater Manchester"),
    ("352", "Manchester", "B", "M", 210, "Greater Manchester"),
    ("353", "Oldham", "B", "M", 110, "Greater Manchester"),
    ("354", "Rochdale", "B", "M", 95, "Greater Manchester"),
    ("355", "Salford", "B", "M", 100, "Greater Manchester"),
    ("356", "Stockport", "B", "M", 115, "Greater Manchester"),
    ("357", "Tameside", "B", "M", 100, "Greater Manchester"),
    ("358", "Trafford", "B", "M", 95, "Greater Manchester"),
    ("359", "Wigan", "B", "M", 130, "Greater Manchester"),
    ("370", "Barnsley", "D", "M", 95, "South Yorkshire"),
    ("371", "Doncaster", "D", "M", 130, "South Yorkshire"),
    ("372", "Rotherham", "D", "M", 120, "South Yorkshire"),
    ("373", "Sheffield", "D", "M", 170, "South Yorkshire"),
    ("380", "Bradford", "D", "M", 210, "West Yorkshire"),
    ("381", "Calderdale", "D", "M", 105, "West Yorkshire"),
    ("382", "Kirklees", "D", "M", 185, "West Yorkshire"),
    ("383", "Leeds", "D", "M", 280, "West Yorkshire"),
    ("384", "Wakefield", "D", "M", 150, "West Yorkshire"),
    ("390", "Gateshead", "A", "M", 85, "Tyne and Wear"),
    ("391", "Newcastle upon Tyne", "A", "M", 100, "Tyne and Wear"),
    ("392", "North Tyneside", "A", "M", 80, "Tyne and Wear"),
    ("393", "South Tyneside", "A", "M", 65, "Tyne and Wear"),
    ("394", "Sunderland", "A", "M", 120, "Tyne and Wear"),
    ("420", "Isles of Scilly", "K", "U", 1, "Cornwall"),
    ("800", "Bath and North East Somerset", "K", "U", 80, "Somerset"),
    ("801", "Bristol, City of", "K", "U", 160, ""),
    ("802", "North Somerset", "K", "U", 80, "Somerset"),
    ("803", "South Gloucestershire", "K", "U", 110, "Gloucestershire"),
    ("805", "Hartlepool", "A", "U", 40, "Durham"),
    ("806", "Middlesbrough", "A", "U", 55, "North Yorkshire"),
    ("807", "Redcar and Cleveland", "A", "U", 60, "North Yorkshire"),
    ("808", "Stockton-on-Tees", "A", "U", 80, "Durham"),
    ("810", "Kingston upon Hull, City of", "D", "U", 100, "East Riding of Yorkshire"),
    ("811", "East Riding of Yorkshire", "D", "U", 160, "East Riding of Yorkshire"),
    ("812", "North East Lincolnshire", "D", "U", 60, "Lincolnshire"),
    ("813", "North Lincolnshire", "D", "U", 75, "Lincolnshire"),
    ("815", "North Yorkshire", "D", "U", 380, "North Yorkshire"),
    ("816", "York", "D", "U", 65, "North Yorkshire"),
    ("821", "Luton", "G", "U", 85, "Bedfordshire"),
    ("822", "Bedford", "G", "U", 90, "Bedfordshire"),
    ("823", "Central Bedfordshire", "G", "U", 135, "Bedfordshire"),
    ("825", "Buckinghamshire", "J", "U", 240, "Buckinghamshire"),
    ("826", "Milton Keynes", "J", "U", 120, "Buckinghamshire"),
    ("830", "Derbyshire", "E", "C", 420, "Derbyshire"),
    ("831", "Derby", "E", "U", 100, "Derbyshire"),
    ("838", "Dorset", "K", "U", 160, "Dorset"),
    ("839", "Bournemouth, Christchurch and Poole", "K", "U", 90, "Dorset"),
    ("840", "County Durham", "A", "U", 270, "Durham"),
    ("841", "Darlington", "A", "U", 45, "Durham"),
    ("845", "East Sussex", "J", "C", 200, "East Sussex"),
    ("846", "Brighton and Hove", "J", "U", 85, "East Sussex"),
    ("850", "Hampshire", "J", "C", 500, "Hampshire"),
    ("851", "Portsmouth", "J", "U", 70, "Hampshire"),
    ("852", "Southampton", "J", "U", 85, "Hampshire"),
    ("855", "Leicestershire", "E", "C", 290, "Leicestershire"),
    ("856", "Leicester", "E", "U", 120, "Leicestershire"),
    ("857", "Rutland", "E", "U", 20, "Rutland"),
    ("860", "Staffordshire", "F", "C", 410, "Staffordshire"),
    ("861", "Stoke-on-Trent", "F", "U", 95, "Staffordshire"),
    ("865", "Wiltshire", "K", "U", 240, "Wiltshire"),
    ("866", "Swindon", "K", "U", 85, "Wiltshire"),
    ("867", "Bracknell Forest", "J", "U", 45, "Berkshire"),
    ("868", "Windsor and Maidenhead", "J", "U", 65, "Berkshire"),
    ("869", "West Berkshire", "J", "U", 80, "Berkshire"),
    ("870", "Reading", "J", "U", 60, "Berkshire"),
    ("871", "Slough", "J", "U", 50, "Berkshire"),
    ("872", "Wokingham", "J", "U", 65, "Berkshire"),
    ("873", "Cambridgeshire", "G", "C", 270, "Cambridgeshire"),
    ("874", "Peterborough", "G", "U", 85, "Cambridgeshire"),
    ("876", "Halton", "B", "U", 70, "Cheshire"),
    ("877", "Warrington", "B", "U", 95, "Cheshire"),
    ("878", "Devon", "K", "C", 380, "Devon"),
    ("879", "Plymouth", "K", "U", 100, "Devon"),
    ("880", "Torbay", "K", "U", 45, "Devon"),
    ("881", "Essex", "G", "C", 520, "Essex"),
    ("882", "Southend-on-Sea", "G", "U", 60, "Essex"),
    ("883", "Thurrock", "G", "U", 60, "Essex"),
    ("884", "Herefordshire", "F", "U", 100, "Herefordshire"),
    ("885", "Worcestershire", "F", "C", 240, "Worcestershire"),
    ("886", "Kent", "J", "C", 600, "Kent"),
    ("887", "Medway", "J", "U", 100, "Kent"),
    ("888", "Lancashire", "B", "C", 530, "Lancashire"),
    ("889", "Blackburn with Darwen", "B", "U", 75, "Lancashire"),
    ("890", "Blackpool", "B", "U", 45, "Lancashire"),
    ("891", "Nottinghamshire", "E", "C", 370, "Nottinghamshire"),
    ("892", "Nottingham", "E", "U", 110, "Nottinghamshire"),
    ("893", "Shropshire", "F", "U", 170, "Shropshire"),
    ("894", "Telford and Wrekin", "F", "U", 85, "Shropshire"),
    ("895", "Cheshire East", "B", "U", 160, "Cheshire"),
    ("896", "Cheshire West and Chester", "B", "U", 160, "Cheshire"),
    ("908", "Cornwall", "K", "U", 290, "Cornwall"),
    ("909", "Cumberland", "B", "U", 170, "Cumbria"),
    ("916", "Gloucestershire", "K", "C", 300, "Gloucestershire"),
    ("919", "Hertfordshire", "G", "C", 500, "Hertfordshire"),
    ("921", "Isle of Wight", "J", "U", 55, "Isle of Wight"),
    ("925", "Lincolnshire", "E", "C", 380, "Lincolnshire"),
    ("926", "Norfolk", "G", "C", 430, "Norfolk"),
    ("929", "Northumberland", "A", "U", 165, "Northumberland"),
    ("931", "Oxfordshire", "J", "C", 300, "Oxfordshire"),
    ("933", "Somerset", "K", "U", 300, "Somerset"),
    ("935", "Suffolk", "G", "C", 330, "Suffolk"),
    ("936", "Surrey", "J", "C", 400, "Surrey"),
    ("937", "Warwickshire", "F", "C", 250, "Warwickshire"),
    ("938", "West Sussex", "J", "C", 290, "West Sussex"),
    ("940", "North Northamptonshire", "E", "U", 150, "Northamptonshire"),
    ("941", "West Northamptonshire", "E", "U", 170, "Northamptonshire"),
    ("942", "Westmorland and Furness", "B", "U", 110, "Cumbria"),
)

# Establishments outside any local authority (schools overseas) carry this "authority".
OVERSEAS = ("000", "Does not apply", "Z", "X", 0, "")
OVERSEAS_PLACES = (
    ("Madrid", "Spain"), ("Barcelona", "Spain"), ("Dubai", "United Arab Emirates"),
    ("Doha", "Qatar"), ("Bangkok", "Thailand"), ("Hong Kong", "Hong Kong"), ("Cairo", "Egypt"),
    ("Nairobi", "Kenya"), ("São Paulo", "Brazil"), ("The Hague", "Netherlands"),
    ("Limassol", "Cyprus"), ("Kuala Lumpur", "Malaysia"), ("Lagos", "Nigeria"),
)  # fmt: skip
BSO_INSPECTORATES = ("Penta International", "ISI", "Education Development Trust", "Cognia")

# The demo's own local authority (a code no real authority uses) and its neighbours.
DEMO_LOCAL_AUTHORITY = ("960", "Northshire", "B", "U", 300, "Northshire")
DEMO_NEIGHBOURS = ("888", "909", "942", "890", "889", "350", "359")

URBAN_RURAL = (
    ("A1", "(England/Wales) Urban major conurbation"),
    ("B1", "(England/Wales) Urban minor conurbation"),
    ("C1", "(England/Wales) Urban city and town"),
    ("D1", "(England/Wales) Rural town and fringe"),
    ("E1", "(England/Wales) Rural village"),
    ("F1", "(England/Wales) Rural hamlet and isolated dwellings"),
)

POSTCODE_AREAS = (
    "AL", "B", "BA", "BB", "BD", "BH", "BL", "BN", "BR", "BS", "CA", "CB", "CH", "CM", "CO",
    "CR", "CT", "CV", "CW", "DA", "DE", "DH", "DL", "DN", "DT", "DY", "EN", "EX", "GL", "GU",
    "HA", "HD", "HG", "HP", "HR", "HU", "HX", "IG", "IP", "KT", "L", "LA", "LE", "LN", "LS",
    "LU", "M", "ME", "MK", "NE", "NG", "NN", "NR", "OL", "OX", "PE", "PL", "PO", "PR", "RG",
    "RH", "RM", "S", "SG", "SK", "SL", "SM", "SN", "SO", "SP", "SR", "SS", "ST", "SY", "TA",
    "TF", "TN", "TQ", "TR", "TS", "TW", "UB", "WA", "WD", "WF", "WN", "WR", "WS", "WV", "YO",
)  # fmt: skip
POSTCODE_INWARD_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"

# --- Names ---------------------------------------------------------------------------------

TOWN_STARTS = (
    "Ash", "Bar", "Beck", "Brad", "Bram", "Brock", "Burn", "Cald", "Chad", "Clay", "Cold",
    "Crow", "Dal", "Deep", "East", "Elm", "Fair", "Fern", "Glen", "Green", "Hal", "Hazel",
    "High", "Holm", "Kings", "Lang", "Lark", "Long", "Lyn", "Mar", "Mill", "Moor", "North",
    "Oak", "Pen", "Red", "Rother", "Sand", "South", "Stan", "Stock", "Stone", "Thorn", "Up",
    "West", "Whit", "Wick", "Wood", "Wyn", "Yar",
)  # fmt: skip
TOWN_ENDS = (
    "bridge", "brook", "bury", "by", "caster", "combe", "dale", "den", "field", "ford", "gate",
    "ham", "hurst", "ington", "ley", "mere", "minster", "mouth", "stead", "stow", "thorpe",
    "ton", "well", "wick", "worth",
)  # fmt: skip
TWO_WORD_TOWNS = (
    "Orchard Vale", "Bishop’s Stortford", "King’s Norton", "Market Harwell", "Crème Lane",
    "Upper Fenwick", "Little Ashby", "Great Thornbury", "Nether Stowe", "Castle Bramley",
    "St Ives Bay", "Saint’s Hill", "Newton Abbotsley", "Chipping Marden", "Lady’s Bridge",
)  # fmt: skip
PLACE_WORDS = (
    "Coleridge", "Larkrise", "Whitecross", "Kingsmead", "Riverside", "Greenbank", "Fernhill",
    "Moorside", "Hazelwood", "Highcliffe", "Sandhurst", "Northgate", "Westbrook", "Millbrook",
    "Elmhurst", "Oakfield", "Brockley", "Thornbury", "Ashby", "Bramley", "Beechwood",
    "Brookfield", "Cherry Tree", "Church Hill", "Cranford", "Deanery", "Eastfield", "Fairfield",
    "Foxwood", "Gorse Hill", "Grange", "Hawthorn", "Heathfield", "Hillside", "Hollybush",
    "Lakeside", "Linden", "Lime Tree", "Manor", "Meadowbank", "Newlands", "Orchard",
    "Parkside", "Priory", "Queensway", "Ravenscroft", "Rosewood", "Sherwood", "Springfield",
    "Stonehill", "Summerfield", "Sycamore", "Valley", "Westfield", "Willowbrook", "Woodlands",
    "Wyvern", "Yew Tree", "Abbey", "Alder", "Barley Croft", "Bluebell", "Broadway",
    "Castle View", "Chestnut", "Cliffe", "Copperfield", "Cottam", "Dovecote", "Elmwood",
    "Fieldway", "Glebe", "Greenacres", "Harbour", "Heron", "Holywell", "Ivy Lane", "Juniper",
    "Kestrel", "Longmeadow", "Marlborough", "Mayfield", "Mill Lane", "Newbridge", "Oaklands",
    "Old Hall", "Pinewood", "Red Hill", "Rowan", "St Leonard’s", "Shaftesbury", "Southmead",
    "Stanley Park", "Sunnyside", "Tanners", "Tudor", "Victoria", "Waterside", "Windmill",
)  # fmt: skip
PLACE_FEATURES = (
    "Park", "Green", "Hill", "Vale", "Fields", "Wood", "Grange", "Heath", "Common", "Bridge",
    "Valley", "Cross", "Lane", "End", "Meadow",
)  # fmt: skip
STREET_TYPES = (
    "Road", "Road", "Road", "Lane", "Lane", "Street", "Avenue", "Close", "Drive", "Way",
    "Crescent", "Grove", "Hill", "Rise", "Walk",
)  # fmt: skip

SAINTS = (
    "St Mary’s", "St John’s", "St Peter’s", "St Paul’s", "St Michael’s", "St George’s",
    "St Andrew’s", "St Joseph’s", "St Thomas’", "St Luke’s", "St Mark’s", "St Matthew’s",
    "St James’", "St Anne’s", "St Margaret’s", "St Bede’s", "St Aidan’s", "St Cuthbert’s",
    "St Chad’s", "St Hilda’s", "St Wilfrid’s", "St Edmund’s", "St Augustine’s",
    "St Bernadette’s", "St Teresa’s", "St Patrick’s", "St Francis’", "St Catherine’s",
    "St Helen’s", "St Lawrence’s", "St Nicholas’", "St Stephen’s", "St Alban’s", "St Oswald’s",
    "St Dunstan’s", "St Leonard’s", "St Giles’", "St Barnabas’", "St Bartholomew’s",
    "All Saints’", "Holy Trinity", "Christ Church", "Sacred Heart", "Our Lady’s",
    "Holy Family", "St Mary and St John", "English Martyrs", "Blessed Sacrament",
    "St Thomas More", "St John Fisher", "Our Lady of Lourdes", "Holy Cross",
)  # fmt: skip
CHURCH_OF_ENGLAND = ("CofE", "C of E", "Church of England", "CE")
CATHOLIC = ("Catholic", "RC", "Roman Catholic")
EPONYMS = (
    "King Edward VI", "Queen Elizabeth’s", "Sir John Cass", "Bishop Challoner",
    "Cardinal Newman", "Archbishop Tenison’s", "Dame Alice Owen’s", "Sir Thomas Rich’s",
    "Lady Margaret", "Sir William Borlase’s", "Bishop Stopford", "Sir Harry Smith",
    "Queen Mary’s", "King James’s", "Sir John Leman", "Dame Elizabeth Cadbury",
)  # fmt: skip

TRUST_WORDS = (
    "Acorn", "Alder", "Amber", "Anchor", "Apex", "Arch", "Ascent", "Aspire", "Aurora",
    "Beacon", "Bluebell", "Bright Futures", "Brook", "Castle", "Cedar", "Chiltern", "Coast",
    "Compass", "Cornerstone", "Cotswold", "Crest", "Crown", "Dales", "Discovery", "Dove",
    "Eden", "Elevate", "Elm", "Emerald", "Endeavour", "Evergreen", "Falcon", "Fenland", "Fern",
    "Flourish", "Forest", "Foxhill", "Gateway", "Glebe", "Granite", "Greenwood", "Harbour",
    "Harmony", "Hawthorn", "Heartwood", "Heath", "Heron", "Highfield", "Hilltop", "Holly",
    "Hope", "Horizon", "Inspire", "Ivy", "Jubilee", "Juniper", "Kestrel", "Keystone",
    "Kingfisher", "Kite", "Lakeside", "Lantern", "Lark", "Laurel", "Legacy", "Lighthouse",
    "Lime", "Linden", "Lion", "Magnolia", "Maple", "Marsh", "Meadow", "Meridian", "Mill",
    "Minster", "Moorland", "Mosaic", "Noble", "Northern Lights", "Nova", "Oakwood", "Orchard",
    "Osprey", "Pathfinder", "Pebble", "Pennine", "Phoenix", "Pinnacle", "Pioneer", "Poppy",
    "Quest", "Rainbow", "Raven", "Riverside", "Robin", "Rose", "Rowan", "Sandstone", "Sapling",
    "Saxon", "Shire", "Silver Birch", "Skylark", "Solent", "Spire", "Spring", "Star",
    "Starling", "Stone Bridge", "Summit", "Swan", "Sycamore", "Tamar", "Tern", "Thames Valley",
    "Thrive", "Tide", "Tower", "Trinity", "Unity", "Vale", "Valley", "Vanguard", "Vista",
    "Waterside", "Weald", "Wellspring", "Wessex", "White Horse", "Wildflower", "Willow",
    "Windmill", "Wren", "Yew", "Zenith",
)  # fmt: skip
TRUST_ENDINGS = (
    "Academy Trust", "Learning Trust", "Education Trust", "Multi Academy Trust",
    "Schools Partnership", "Schools Trust", "Learning Partnership", "Academies Trust",
    "Federation Trust",
)  # fmt: skip
DIOCESES = (
    "Bath and Wells", "Birmingham", "Blackburn", "Bristol", "Carlisle", "Chelmsford",
    "Chester", "Coventry", "Derby", "Durham", "Ely", "Exeter", "Gloucester", "Guildford",
    "Hereford", "Leeds", "Leicester", "Lichfield", "Lincoln", "Liverpool", "London",
    "Manchester", "Newcastle", "Norwich", "Oxford", "Peterborough", "Portsmouth", "Rochester",
    "Salisbury", "Sheffield", "St Albans", "Southwark", "Truro", "Winchester", "Worcester",
    "York", "Arundel and Brighton", "Brentwood", "Clifton", "East Anglia", "Hallam",
    "Hexham and Newcastle", "Lancaster", "Middlesbrough", "Northampton", "Nottingham",
    "Plymouth", "Salford", "Shrewsbury", "Westminster",
)  # fmt: skip

HEAD_TITLES = (("Mr", 30), ("Mrs", 30), ("Ms", 20), ("Miss", 12), ("Dr", 5), ("Rev", 1))
FIRST_NAMES = (
    "James", "David", "Sarah", "Emma", "Michael", "Helen", "Claire", "Richard", "Rachel",
    "Paul", "Andrew", "Louise", "Mark", "Joanne", "Stephen", "Nicola", "Priya", "Fatima",
    "Aisha", "Oluwaseun", "Chloe", "Zoë", "Tomás", "Ewan", "Siobhan", "Gareth", "Rhiannon",
    "Mohammed", "Imran", "Anjali", "Hannah", "Rebecca", "Kate", "Jonathan", "Simon", "Gemma",
    "Laura", "Catherine", "Elizabeth", "Victoria", "Daniel", "Matthew", "Christopher", "Peter",
    "Susan", "Karen", "Amanda", "Lisa", "Jane", "Ruth", "Samuel", "Benjamin", "Naomi", "Grace",
    "Amir", "Kwame", "Chidi", "Agnieszka", "Marek", "Niamh", "Ciarán", "Aoife", "Seán",
    "Renée", "José", "Anaïs", "Björn", "Joanna", "Harjit", "Gurpreet", "Yusuf", "Leanne",
)  # fmt: skip
LAST_NAMES = (
    "Smith", "Jones", "Williams", "Taylor", "Brown", "Davies", "Evans", "Wilson", "Thomas",
    "Johnson", "Roberts", "Robinson", "Thompson", "Wright", "Walker", "White", "Edwards",
    "Hughes", "Green", "Hall", "Lewis", "Harris", "Clarke", "Patel", "Khan", "Ahmed", "Ali",
    "Singh", "Begum", "Okafor", "Adeyemi", "Mensah", "Nowak", "Kowalski", "O'Brien",
    "O’Neill", "McAllister", "MacDonald", "D'Souza", "Fitzgerald", "Murphy", "Kelly", "Chen",
    "Wong", "Nguyen", "Fernández", "Müller", "Hart-Davies", "Ashworth", "Pemberton",
    "Chowdhury", "Osei", "Brennan", "Lloyd", "Price", "Morgan", "Bell", "Foster", "Shaw",
)  # fmt: skip
HEAD_JOB_TITLES = (
    ("Headteacher", 45),
    ("Head Teacher", 15),
    ("Principal", 15),
    ("Executive Headteacher", 8),
    ("Head of School", 8),
    ("Acting Headteacher", 3),
    ("Interim Headteacher", 2),
    ("Executive Principal", 2),
    ("Head", 2),
)

# Ofsted's legacy single grades as the register spells them, capitalisation varying.
OFSTED_GRADES = (
    ("Good", 60),
    ("good", 1),
    ("Outstanding", 16),
    ("outstanding", 0.5),
    ("Requires improvement", 11),
    ("Requires Improvement", 4),
    ("requires improvement", 0.5),
    ("Inadequate", 2),
    ("Serious Weaknesses", 2),
    ("Serious weaknesses", 0.5),
    ("Special Measures", 2),
    ("Special measures", 0.5),
)

SEN_NEEDS = (
    "ASD - Autistic Spectrum Disorder", "SLD - Severe Learning Difficulty",
    "MLD - Moderate Learning Difficulty", "SEMH - Social, Emotional and Mental Health",
    "SLCN - Speech, language and Communication", "PMLD - Profound and Multiple Learning "
    "Difficulty", "PD - Physical Disability", "HI - Hearing Impairment",
    "VI - Visual Impairment", "SpLD - Specific Learning Difficulty",
)  # fmt: skip

"""Words the leak guard does not take, alone, as naming anyone (moderation/leakguard.py)."""

# Ordinary English, Spanish, French and Portuguese words (folded) that are also family names or
# acronyms: alone, they name nobody. Full names that contain them still count.
COMMON = frozenset(
    """
    the and for but not all any can one two six ten new old our out own may man men war law aid
    act art arc air age ask big bus car day end eye far few fun get god gun has her him his how
    its job key kid let lot low map net nor now off oil per put red run say sea see set she sky
    son sun tax tea too top try use via was way who why win yes yet you tan sir bay ash fox oak
    ray hay joy rey ley voz fin hay muy que sus los las del por con una uno dos mas sin sur mar
    sol paz luz les des une par est aux qui mer roi loi vie bon pas ses nos vos mai ete ans com
    sem lei rei fim ano dia mae pai gil sal
    will rose long grant young king white black brown green gray grey hill hills wood woods
    stone rich bell bells hall wall walls ward page price bush baker cook mason hunter fisher
    fish bird swan wolf lamb hart love hope faith grace dawn summer winter spring april june
    august noble sharp strong short small little good best case mark bill frank sterling major
    marsh lake field fields ford park parks lane english french west north south east night moon
    star rice bean burns banks sands rivers river waters water walker turner cooper porter house
    church chase chance hardy hand head heart power powers cash gold silver steel iron glass wise
    bright free mayor judge bishop pope knight prince duke earl lord baron dean sane well wells
    mills miller cross crane drake finch crow hawk gates gate brook brooks pond dale vale glen
    moss heath birch pine reed reeds rush flower berry bloom spark sweet gentle fair peacock salt
    pepper sugar honey butter bread wheat corn rock cliff coast shore beach storm snow frost rain
    hail gale light steward marshal archer tanner weaver tailor butcher barber brewer potter
    farmer fuller gardener shepherd hunt rule bond link money penny worth more most less last
    first early late soon still even ever able back over under down near wide high hale bold
    brave keen quick swift wild mild merry glad happy proud lean stout tall large round strange
    fresh sole soul spirit angel saint dutch said song fall sunday monday friday jordan israel
    france paris london chad lagos kano care peace help save open life home land food youth
    women voice unity trust alert focus space impact reach action access agenda world earth
    plan forum network union council alliance centre center
    cruz rosa flores flor leon leone campo campos vega rios santos santo santa blanco blanca
    negro rojo delgado bueno buena caballero iglesia iglesias castillo montes monte moreno
    salvador mesa torre torres prado nieves dolores mercedes pilar reyes fuentes fuente puerto
    sierra llano cerro lobo lobos paredes ramos pastor cordero gallo olivo mata pinto prieto solo
    sola alegre bravo franco calle lima cano largo manso alto alta rico rica ciudad playa valle
    ribera pena roca piedra arena palma palmas nuevo nueva marina guerra amor rubio moral morales
    leal justo justa santiago angeles cuesta duque conde marques obispo abad cura madre padre
    cabeza corral molino casa casas mora parra lago arroyo pozo toro paloma cortes costa rica
    blanc blanche noir petit petite grand grande roux rousse fontaine pierre chevalier boucher
    berger meunier marchand mercier riviere roche bois bonne belle beau joli jolie juin avril
    soleil lune fleur coeur jardin champ champs marais pont clair claire fort forte brun brune
    vert verte bonheur dieu noel pape prince comte baron masse porte croix chene poirier
    boulanger charpentier fournier renard clement maire jolly
    rocha matos ribeiro correia dias bastos branco preto leite porto serra neves reis pais
    coelho cordeiro nogueira sala pace villa bianco conte gentile
    government governments gobierno governo gouvernement civil civile society sociedad
    societe sociedade academic academia academy private public sector sectors collective
    observer observers rapporteur chair chairwoman chairman chairperson moderator delegate
    delegates participant member members minister ministry office cabinet gabinete institute
    secretariat committee commission agency foundation association federation coalition
    movement university college school bank group people nation nations state states united
    national international global regional local community development research policy rights
    justice security mediation mediator dialogue
    """.split()
)
TITLES = frozenset(
    "dr dra prof professor mr mrs ms mx miss mme mlle m sr sra srta h.e s.e hon rev sir dame "
    "amb ambassador excmo excma".split()
)
SUFFIXES = frozenset("jr sr ii iii iv phd ph.d md esq obe mbe cbe".split())
PARTICLES = frozenset(
    "al bin ibn bint ben da das de del della der di do dos du el la las le les los van von "
    "ter ten zu".split()
)
ARTICLES = frozenset("the la le les el los las l o a os as die der das".split())

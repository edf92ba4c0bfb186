"""Character-level normalisation used for matching only: the verbatim text is never rewritten.

Every mapping here is one character to one character, so an offset in the normalised copy is the same offset
in the original text and a match found on the normalised copy slices the original verbatim.
"""

from __future__ import annotations

# Traditional → simplified, pairs of (traditional, simplified) characters covering the vocabulary of Chinese
# education work plans (bureau, school, enrolment, inspection, reform, numbers and measure words). Characters
# that are the same in both scripts are not listed.
_T2S_PAIRS = (
    "時时間间導导語语來来網网觀观課课務务師师學学會会議议縣县園园團团當当國国黨党屆届兩两個个為为"
    "載载緊紧圍围繞绕發发戰战樹树質质興兴實实與与計计劃划動动標标點点辦办滿满調调貫贯關关優优統统"
    "強强聯联識识競竞爭争選选傳传書书鄉乡鎮镇區区級级歲岁勵励獎奖績绩幹干親亲電电話话問问題题隊队"
    "陣阵營营費费備备準准險险預预監监測测評评價价檢检驗验執执懲惩訂订輔辅購购資资規规範范據据總总"
    "結结綜综負负擔担擴扩層层寬宽領领參参華华闊阔氣气濃浓構构築筑體体係系屬属進进還还這这邊边達达"
    "過过運运遠远連连適适遞递邁迈遷迁違违遺遗鄰邻醫医釋释針针鐘钟錄录長长門门開开閉闭閱阅陳陈陸陆"
    "隨随隱隐雙双雜杂離离難难靈灵韓韩頁页項项順顺須须頻频顏颜額额風风飛飞養养館馆鬥斗黃黄齊齐齡龄"
    "龍龙億亿僅仅傷伤傾倾側侧們们儀仪兒儿內内冊册決决況况淨净減减則则剛刚創创劉刘勞劳勢势勝胜協协"
    "單单卻却厲厉變变叢丛號号員员啟启團团圖图圓圆場场壞坏壯壮聲声處处復复夠够夢梦奪夺奮奋婦妇孫孙"
    "寧宁寫写寶宝將将專专對对尋寻崗岗嶺岭帶带帳账幫帮廣广廠厂廢废廳厅張张彈弹歸归從从徑径徹彻恆恒"
    "惡恶愛爱態态慣惯應应懷怀懶懒戲戏戶户掃扫揚扬換换擇择擁拥擊击擬拟擺摆擾扰數数斷断於于晉晋條条"
    "東东極极樂乐樣样樓楼機机權权橫横欄栏歡欢歷历殘残殺杀沒没溝沟濟济滅灭滯滞漢汉潔洁潛潜澤泽灣湾"
    "無无煙烟熱热燈灯牆墙狀状獨独獲获獻献環环現现產产畢毕畫画異异療疗盡尽盤盘眾众矯矫礎础確确碼码"
    "禮礼種种稱称積积穩稳窮穷筆笔節节篩筛簡简簽签類类糧粮糾纠紀纪約约紅红納纳紙纸紛纷細细終终組组"
    "絕绝給给絲丝經经綠绿維维網网線线練练織织繼继續续罰罚羅罗習习聖圣聞闻聰聪職职聽听肅肃腦脑臨临"
    "臺台舉举舊旧艱艰藝艺蘇苏蘭兰虛虚術术衛卫衝冲補补裝装製制複复見见視视覺觉認认討讨訓训記记訪访"
    "設设許许訴诉診诊詞词試试詳详誌志誠诚說说誰谁談谈請请諸诸論论謀谋謂谓講讲謝谢證证譜谱譯译護护"
    "讀读讓让豐丰貝贝財财貢贡責责貧贫貨货貴贵買买貼贴賦赋賬账賽赛贊赞贏赢趕赶趨趋跡迹踐践車车軍军"
    "軌轨軟软較较輕轻輪轮輸输轉转農农週周遊游遲迟採采銀银銷销鋪铺錯错鍛锻鏈链鐵铁閒闲陽阳陰阴際际"
    "階阶雖虽靜静響响頂顶頭头顧顾顯显飯饭飲饮飾饰餘余驅驱髮发鬧闹麗丽麼么傑杰倫伦偽伪億亿償偿凍冻"
    "劇剧勁劲勸劝匯汇壓压壽寿奧奥嬰婴審审憲宪賓宾嶄崭幟帜廚厨彙汇徵征憂忧懸悬揮挥損损搖摇攜携攝摄"
    "敵敌暫暂暢畅曆历曉晓棄弃棟栋檔档櫃柜溫温滲渗濕湿災灾煉炼爐炉犧牺猶犹盜盗碩硕禦御稅税窩窝竊窃"
    "籌筹籃篮紋纹綱纲緒绪編编緩缓縮缩縱纵繳缴罷罢義义脫脱膽胆臉脸莊庄葉叶薦荐藥药衆众裡里覽览訊讯"
    "詢询該该詩诗誤误諧谐謹谨譽誉豎竖豬猪賴赖賠赔贈赠趙赵蹤踪躍跃輝辉轄辖辭辞邏逻郵邮鋼钢錢钱錦锦"
    "鍵键鎖锁鏡镜鑑鉴鑒鉴閃闪闖闯陝陕隸隶霧雾韋韦頒颁頓顿頗颇顆颗願愿飄飘饑饥駐驻騰腾驟骤鬆松鹽盐"
    "麥麦墊垫壇坛夾夹奬奖倉仓儉俭兌兑匱匮喪丧嚴严堅坚塊块娛娱寢寝廈厦彌弥恥耻悅悦惱恼慘惨憑凭懼惧"
    "摯挚撥拨擋挡擠挤攤摊敘叙斬斩曬晒桿杆業业榮荣樁桩橋桥欽钦殼壳毀毁淚泪淺浅湧涌滬沪漁渔潰溃濱滨"
    "瀏浏爛烂牽牵獅狮獵猎疊叠癒愈礙碍穀谷篤笃籤签粵粤紐纽紮扎紹绍綁绑綏绥縫缝繩绳繪绘纏缠纖纤脹胀"
    "膚肤蓋盖薩萨藍蓝蘆芦虧亏襲袭詐诈誘诱謠谣豈岂賤贱蹟迹軸轴輯辑轟轰辯辩迴回遜逊釀酿鈴铃鉛铅銳锐"
    "鋒锋鍋锅鞏巩韻韵頸颈顛颠飼饲餅饼饒饶駁驳駕驾騎骑髒脏鬱郁魯鲁鮮鲜鳴鸣鴻鸿麵面齒齿夥伙著着範范"
    "並并佈布佔占併并喫吃嚮向捨舍晝昼祕秘箇个繫系託托註注隻只傢家剷铲勳勋嘆叹嚐尝堯尧壺壶嫻娴寵宠"
    "屢屡庫库廂厢廁厕弔吊慮虑懇恳掙挣揀拣搶抢撈捞撐撑擱搁攏拢曠旷棗枣樞枢殲歼湯汤滾滚漲涨潑泼濫滥"
    "煩烦瑤瑶畝亩瘋疯瘡疮癢痒盧卢矚瞩硯砚磚砖禱祷禿秃稈秆穎颖紓纾紡纺絢绚綻绽緬缅縛缚繕缮罵骂脈脉"
    "艷艳蒼苍蕭萧薑姜蘋苹虜虏蝦虾蠶蚕褲裤襪袜訣诀誼谊諾诺謎谜讚赞貞贞賞赏軀躯輛辆輩辈轎轿遙遥醜丑"
    "釘钉鈣钙鋸锯錘锤鏟铲鑄铸閣阁闡阐隴陇雲云頌颂顫颤飢饥餌饵饋馈騙骗驕骄鬍胡鯉鲤鶴鹤鹼碱龐庞"
    "臺台灣湾範范衝冲託托製制準准療疗穫获係系採采週周嘗尝團团鬥斗啓启啟启綫线纔才隸隶"
    "帥帅戶户並并倆俩儲储勻匀卹恤厘厘吳吴嗎吗噸吨墾垦壢坜奮奋妳你姦奸婁娄媽妈嬸婶孌娈專专尷尴屍尸"
    "幣币廬庐彎弯悵怅惻恻慶庆憐怜懺忏拋抛挾挟捲卷掛挂揹背搗捣擄掳擴扩攔拦攪搅敗败斃毙暱昵書书"
    "樁桩樸朴橢椭檯台櫻樱歐欧毆殴氫氢氾泛決决沒没潤润濁浊灤滦煥焕爍烁犢犊獄狱琺珐瓊琼甕瓮產产畫画"
    "癡痴皺皱盞盏睞睐瞭了矇蒙碩硕禪禅稜棱窯窑竄窜筍笋箏筝簾帘粧妆糰团紂纣紉纫絹绢綵彩緻致縣县縴纤"
    "罈坛羨羡翹翘聳耸聯联肅肃腎肾膠胶艙舱蔔卜蝕蚀螢萤覆覆訝讶譴谴賊贼賺赚贍赡趲趱軋轧輒辄辮辫醞酝"
    "釣钓鈔钞錨锚鍍镀閘闸闊阔隕陨雛雏霸霸靂雳鞝绱頹颓餵喂騷骚髏髅魅魅黴霉齣出"
    "補补貫贯練练輔辅選选遞递鑰钥盪荡蕩荡溼湿準准綜综鎮镇鋁铝鑽钻贏赢贖赎亂乱報报絡络輟辍馭驭宮宫"
)

# Full-width ASCII (U+FF01..U+FF5E) maps to ASCII; the other entries are look-alike punctuation used in plans.
_PUNCT = {
    "\u3000": " ",  # ideographic space
    "\u00a0": " ",
    "—": "-",
    "–": "-",
    "－": "-",
    "〜": "~",
    "～": "~",
    "﹪": "%",
    "〔": "[",
    "〕": "]",
    "【": "[",
    "】": "]",
    "：": ":",
}


def _build_table() -> dict[int, str]:
    """The one-to-one translation table used by :func:`normalize`."""
    table: dict[int, str] = {}
    pairs = _T2S_PAIRS
    for index in range(0, len(pairs) - 1, 2):
        trad, simp = pairs[index], pairs[index + 1]
        if trad != simp:
            table[ord(trad)] = simp
    for code in range(0xFF01, 0xFF5F):
        table[code] = chr(code - 0xFEE0)
    for source, target in _PUNCT.items():
        table[ord(source)] = target
    return table


_TABLE = _build_table()


def normalize(text: str) -> str:
    """Return ``text`` with traditional characters simplified and full-width forms made ASCII, same length."""
    return text.translate(_TABLE)


def compact(text: str) -> str:
    """Normalised text without whitespace and punctuation, for comparing two spellings of the same sentence."""
    kept = []
    for char in normalize(text):
        if char.isspace() or char in ",.;:!?()[]\"'“”‘’《》<>、。·-":
            continue
        kept.append(char)
    return "".join(kept)
